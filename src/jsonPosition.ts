/**
 * Where a text stops being JSON (RFC 8259), as a 1-based line and column, so an error can point
 * at the spot without quoting the text around it (which may hold an ID number). V8's own
 * messages give a position only for some faults and quote the text for others.
 * Returns undefined when the text is valid JSON, or nested too deep to tell.
 */
export function jsonErrorPosition(text: string): { line: number; column: number } | undefined {
  const at = firstFault(text)
  if (at === undefined) return undefined
  const before = text.slice(0, at)
  const line = before.split('\n').length
  return { line, column: at - before.lastIndexOf('\n') }
}

/** The offset of the first character that cannot continue valid JSON (the length at a premature end). */
function firstFault(s: string): number | undefined {
  let i = 0
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++
  }
  const fail = (): never => {
    throw i
  }
  const literal = (word: string) => {
    for (const c of word) if (s[i++] !== c) (i--, fail())
  }
  const string = () => {
    i++ // the opening quote
    for (;;) {
      if (i >= s.length) fail()
      const c = s.charCodeAt(i)
      if (c === 0x22) return void i++
      if (c < 0x20) fail()
      if (c === 0x5c) {
        i++
        if (s[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(s[i + k] ?? '')) ((i += k), fail())
          i += 5
        } else if (i < s.length && '"\\/bfnrt'.includes(s[i]!)) i++
        else fail()
      } else i++
    }
  }
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400))
    if (m === null || m[0] === '' || m[0] === '-') fail()
    i += m![0].length
  }
  const value = (depth: number): void => {
    ws()
    if (depth > 2_000) throw new RangeError('too deep')
    const c = s[i]
    if (c === '{') return members('}', depth, true)
    if (c === '[') return members(']', depth, false)
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    return number()
  }
  const members = (close: string, depth: number, keyed: boolean) => {
    i++
    ws()
    if (s[i] === close) return void i++
    for (;;) {
      if (keyed) {
        ws()
        if (s[i] !== '"') fail()
        string()
        ws()
        if (s[i] !== ':') fail()
        i++
      }
      value(depth + 1)
      ws()
      if (s[i] === ',') i++
      else if (s[i] === close) return void i++
      else fail()
    }
  }
  try {
    value(0)
    ws()
    if (i < s.length) fail()
    return undefined
  } catch (at) {
    // Past the depth limit: no position rather than a stack overflow.
    return typeof at === 'number' ? at : undefined
  }
}

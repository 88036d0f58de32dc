import { maskIdNumbersIn } from '../ids/idNumber.js'

/**
 * JSON for signed content, read one way only. JSON.parse keeps the last of two members with the
 * same name, other parsers the first: a signed payload with two `holder` members would name two
 * different people to two verifiers. So signed JSON with a duplicate member name (compared after
 * unescaping, so "id" and "\u0069d" are the same) is refused, and so are bytes that are not UTF-8.
 */

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; code: 'INVALID_UTF8' | 'JSON_INVALID' | 'DUPLICATE_MEMBER'; pointer: string; message: string }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
// A member name is the sender's text: an ID number used as a name is masked like anywhere else.
const escapePointer = (key: string) => maskIdNumbersIn(key).replace(/~/g, '~0').replace(/\//g, '~1')

interface Frame {
  keys: Set<string> | undefined
  /** Pointer of this container; for an object, the member being read is added on top. */
  pointer: string
  index: number
}

/** Decodes UTF-8 bytes (fatal on any invalid sequence) and parses them as JSON without duplicate members. */
export function parseStrictJsonBytes(bytes: Uint8Array): StrictJsonResult {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return { ok: false, code: 'INVALID_UTF8', pointer: '', message: 'not valid UTF-8' }
  }
  return parseStrictJson(text)
}

export function parseStrictJson(text: string): StrictJsonResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, code: 'JSON_INVALID', pointer: '', message: 'not JSON' }
  }
  const duplicate = findDuplicateMember(text)
  if (duplicate !== undefined) return { ok: false, code: 'DUPLICATE_MEMBER', pointer: duplicate, message: 'a member name appears twice in one object' }
  return { ok: true, value }
}

/**
 * The JSON pointer of the first duplicate member in `text`, which JSON.parse already accepted
 * (so the scan can trust the grammar), or undefined. Iterative: deep nesting cannot overflow.
 */
function findDuplicateMember(text: string): string | undefined {
  const stack: Frame[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{' || c === '[') {
      const parent = stack[stack.length - 1]
      stack.push({ keys: c === '{' ? new Set() : undefined, pointer: parent ? childPointer(parent) : '', index: 0 })
      expectKey = c === '{'
    } else if (c === '}' || c === ']') {
      stack.pop()
      expectKey = false
    } else if (c === ',') {
      const top = stack[stack.length - 1]!
      if (top.keys) expectKey = true
      else top.index++
    } else if (c === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      if (expectKey) {
        const top = stack[stack.length - 1]!
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (top.keys!.has(key)) return `${top.pointer}/${escapePointer(key)}`
        top.keys!.add(key)
        currentKey.set(top, key)
        expectKey = false
      }
      i = end
    }
  }
  return undefined
}

// The member an object frame is reading, for the pointer of a nested container.
const currentKey = new WeakMap<Frame, string>()

function childPointer(parent: Frame): string {
  return parent.keys ? `${parent.pointer}/${escapePointer(currentKey.get(parent) ?? '')}` : `${parent.pointer}/${parent.index}`
}

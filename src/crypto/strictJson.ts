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
  /** The member names seen so far, for an object; undefined for an array. */
  keys: Set<string> | undefined
  /** The member being read (an object) or the element's index (an array). */
  at: string | number
  parent: Frame | undefined
}

/** The JSON pointer of `frame`'s current member or element, built only when a duplicate is reported. */
function pointerOf(frame: Frame | undefined): string {
  let pointer = ''
  for (let f = frame; f; f = f.parent) pointer = `/${typeof f.at === 'string' ? escapePointer(f.at) : f.at}${pointer}`
  return pointer
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
 * Every signed payload a push carries goes through here: the scan allocates nothing but the
 * member names, and builds a pointer only for the duplicate it reports.
 */
function findDuplicateMember(text: string): string | undefined {
  let top: Frame | undefined
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      top = { keys: c === 0x7b ? new Set() : undefined, at: c === 0x7b ? '' : 0, parent: top }
      expectKey = c === 0x7b
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      top = top!.parent
      expectKey = false
    } else if (c === 0x2c /* , */) {
      if (top!.keys) expectKey = true
      else (top!.at as number)++
    } else if (c === 0x22 /* " */) {
      let end = i + 1
      let escaped = false
      for (let d = text.charCodeAt(end); d !== 0x22; d = text.charCodeAt(end)) {
        if (d === 0x5c /* \ */) (escaped = true), (end += 2)
        else end++
      }
      if (expectKey) {
        // Compared after unescaping: "id" and "\u0069d" are one name.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end)
        if (top!.keys!.has(key)) return pointerOf({ ...top!, at: key })
        top!.keys!.add(key)
        top!.at = key
        expectKey = false
      }
      i = end
    }
  }
  return undefined
}

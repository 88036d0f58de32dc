/**
 * A strict DER reader for the few structures the SM2 path needs byte-exactly: the signed part
 * of an X.509 certificate, ECDSA-Sig-Value, SubjectPublicKeyInfo, PKCS#8 and ECPrivateKey.
 * Strict means: definite, minimal lengths only; nothing past the end; integers minimally
 * encoded. Anything else is refused, because a lenient reader lets one signature be
 * presented in many byte forms (malleability) and hides trailing data.
 */

export interface Tlv {
  tag: number
  /** Offset of the tag byte in the buffer read. */
  start: number
  /** Offset of the first value byte. */
  valueStart: number
  /** Offset just past the value. */
  end: number
}

export class DerError extends Error {}

/** Reads one TLV at `offset` of `buf`, ending at or before `limit`. */
export function readTlv(buf: Uint8Array, offset = 0, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated')
  const tag = buf[offset]!
  // High-tag-number form never occurs in what we read; refusing it keeps the reader small.
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported')
  let length = buf[offset + 1]!
  let valueStart = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0) throw new DerError('indefinite length')
    if (count > 4) throw new DerError('length too large')
    if (valueStart + count > limit) throw new DerError('truncated length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + buf[valueStart + i]!
    if (buf[valueStart] === 0 || length < 0x80) throw new DerError('length not minimally encoded')
    valueStart += count
  }
  const end = valueStart + length
  if (end > limit) throw new DerError('value runs past its container')
  return { tag, start: offset, valueStart, end }
}

/** The TLVs directly inside a constructed value, which they must fill exactly. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('not a constructed value')
  const out: Tlv[] = []
  for (let at = parent.valueStart; at < parent.end; ) {
    const tlv = readTlv(buf, at, parent.end)
    out.push(tlv)
    at = tlv.end
  }
  return out
}

/** Reads the whole of `buf` as exactly one TLV with the expected tag. */
export function readWhole(buf: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(buf, 0)
  if (tlv.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`)
  if (tlv.end !== buf.length) throw new DerError('trailing bytes')
  return tlv
}

export function expectTag(tlv: Tlv | undefined, tag: number): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`)
  return tlv
}

export const value = (buf: Uint8Array, tlv: Tlv): Uint8Array => buf.subarray(tlv.valueStart, tlv.end)
export const whole = (buf: Uint8Array, tlv: Tlv): Uint8Array => buf.subarray(tlv.start, tlv.end)

/** A non-negative INTEGER, minimally encoded. */
export function readUnsignedInteger(buf: Uint8Array, tlv: Tlv): bigint {
  expectTag(tlv, 0x02)
  const v = value(buf, tlv)
  if (v.length === 0) throw new DerError('empty integer')
  if (v[0]! & 0x80) throw new DerError('negative integer')
  if (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) throw new DerError('integer not minimally encoded')
  return BigInt('0x' + Buffer.from(v).toString('hex'))
}

/** Dotted form of an OBJECT IDENTIFIER's value. */
export function readOid(buf: Uint8Array, tlv: Tlv): string {
  expectTag(tlv, 0x06)
  const v = value(buf, tlv)
  if (v.length === 0) throw new DerError('empty object identifier')
  const arcs: number[] = []
  let n = 0
  for (let i = 0; i < v.length; i++) {
    const byte = v[i]!
    if (n === 0 && byte === 0x80) throw new DerError('object identifier arc not minimally encoded')
    n = n * 128 + (byte & 0x7f)
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new DerError('object identifier arc too large')
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80)
      else arcs.push(n)
      n = 0
    } else if (i === v.length - 1) throw new DerError('truncated object identifier')
  }
  return arcs.join('.')
}

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length]
  const bytes: number[] = []
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes.unshift(l % 256)
  return [0x80 | bytes.length, ...bytes]
}

function encodeUnsignedInteger(n: bigint): number[] {
  let hex = n.toString(16)
  if (hex.length % 2) hex = '0' + hex
  const bytes = [...Buffer.from(hex, 'hex')]
  if (bytes[0]! & 0x80) bytes.unshift(0)
  return [0x02, ...encodeLength(bytes.length), ...bytes]
}

/** DER SEQUENCE { INTEGER r, INTEGER s }, as OpenSSL writes an SM2 or ECDSA signature. */
export function encodeSignatureValue(r: bigint, s: bigint): Uint8Array {
  const body = [...encodeUnsignedInteger(r), ...encodeUnsignedInteger(s)]
  return Uint8Array.from([0x30, ...encodeLength(body.length), ...body])
}

/** Reads a DER SEQUENCE { INTEGER r, INTEGER s } that fills `der` exactly. */
export function decodeSignatureValue(der: Uint8Array): { r: bigint; s: bigint } {
  const seq = readWhole(der, 0x30)
  const parts = children(der, seq)
  if (parts.length !== 2) throw new DerError('a signature value holds exactly two integers')
  return { r: readUnsignedInteger(der, parts[0]!), s: readUnsignedInteger(der, parts[1]!) }
}

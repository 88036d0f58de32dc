import { createHash } from 'node:crypto'
import { CertificatePayload } from '../certificates/schemas.js'
import { CERT_JWS_TYP, CERT_SIGNING_ALGORITHMS } from '../crypto/jws.js'
import { decodeCompactJws } from '../crypto/compactJws.js'
import { createAjv } from '../types/dataSchema.js'
import { fail, type CheckResult } from './checkList.js'

/** A certificate JWS whose header and payload could be read; nothing about it is trusted yet. */
export interface DecodedCertificate {
  jws: string
  /** Hex SHA-256 of the JWS exactly as presented: what is compared with the stored record. */
  sha256: string
  header: Record<string, unknown> & { alg: string }
  payload: CertificatePayload
}

// The push's own payload schema, so a certificate verifies only if it could have been pushed.
const validatePayload = createAjv().compile(CertificatePayload)

/**
 * The `format` check: size, compact serialisation, typ, a pinned alg and the payload's shape.
 * A failure here means there is too little to verify (result 4), so it comes back as the check.
 * Messages never quote the payload: it holds the holder's ID and name.
 */
export function decodeCertificate(jws: string, maxBytes: number): { ok: true; value: DecodedCertificate } | { ok: false; check: CheckResult } {
  const bad = (reason: string, detail: string) => ({ ok: false as const, check: fail('format', reason, detail) })
  // Size first: nothing larger is even parsed.
  if (Buffer.byteLength(jws, 'utf8') > maxBytes) return bad('JWS_TOO_LARGE', `larger than ${maxBytes} bytes`)
  // The push's own reading: a JWS whose signed content could mean two things verifies as nothing.
  const decoded = decodeCompactJws(jws)
  if (!decoded.ok) {
    const first = decoded.problems[0]!
    return bad(first.code, `${first.message}${first.pointer ? ` at ${first.pointer.replace(/^\/payload\/.*/, '/payload')}` : ''}`)
  }
  const { header, payload } = decoded.value
  if (header.typ !== CERT_JWS_TYP) return bad('TYP_INVALID', `typ must be ${CERT_JWS_TYP}`)
  if (typeof header.alg !== 'string' || !(CERT_SIGNING_ALGORITHMS as readonly string[]).includes(header.alg)) {
    return bad('ALG_NOT_ALLOWED', `alg must be one of ${CERT_SIGNING_ALGORITHMS.join(', ')}`)
  }
  if (!validatePayload(payload)) {
    const first = validatePayload.errors?.[0]
    return bad(first?.keyword === 'storableText' ? 'UNSTORABLE_TEXT' : 'PAYLOAD_INVALID', `the payload is not a certificate${first ? ` (${first.instancePath || '/'} ${first.message ?? 'is invalid'})` : ''}`)
  }
  return {
    ok: true,
    value: { jws, sha256: createHash('sha256').update(jws, 'utf8').digest('hex'), header: header as DecodedCertificate['header'], payload: payload as CertificatePayload },
  }
}

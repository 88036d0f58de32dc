import { createHash, X509Certificate } from 'node:crypto'
import { keyThumbprint } from '../crypto/keys.js'
import { chainIntermediates } from '../crypto/x509.js'
import type { FieldProblem } from '../errors.js'
import type { KeyRow } from '../issuers/repository.js'
import { OfdError } from '../ofd/errors.js'
import { verifyOfdFile, type OfdFileVerification } from '../ofd/pool.js'
import type { CheckedCertificate } from './checks.js'
import { keyWindowProblem } from './signature.js'

/**
 * A certificate that carries its sealed OFD file: the signed payload's `document` names the
 * file's SM3 and size, the push carries the bytes (base64 in the same JSON body, so one schema,
 * one content type and one size limit cover the whole push; a 10 MB file costs 13.4 MB on the
 * wire, which is what the limit is set for). The file is accepted only when it is exactly the
 * one named, its seals verify (GB/T 38540, every check), and each seal was made with a
 * registered signing key of the same issuer that is active when the push is received.
 */

export const OFD_MEDIA_TYPE = 'application/ofd'

export interface AttachedDocument {
  bytes: Buffer
  mediaType: typeof OFD_MEDIA_TYPE
  sm3: string
  size: number
}

export interface DocumentContext {
  maxBytes: number
  anchors: readonly X509Certificate[]
  issuerKeys(code: string): Promise<KeyRow[]>
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Canonical padded base64, or undefined: one encoding per file, nothing ignored. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64') === text ? bytes : undefined
}

type Result = { ok: true; value: AttachedDocument | undefined } | { ok: false; problems: FieldProblem[] }
type Problem = Omit<FieldProblem, 'pointer'>

export async function checkAttachedDocument(c: CheckedCertificate, base64: string | undefined, ctx: DocumentContext, at = ''): Promise<Result> {
  const declared = c.payload.document
  const problem = (pointer: string, code: string, message: string): Result => ({ ok: false, problems: [{ pointer: `${at}${pointer}`, code, message }] })
  if (!declared && base64 === undefined) return { ok: true, value: undefined }
  if (!declared) return problem('/document', 'DOCUMENT_NOT_DECLARED', 'the signed payload names no document: sign one that does, or push the sealed file alone as {document} (its metadata is then the payload)')
  if (base64 === undefined) return problem('/certificate/payload/document', 'DOCUMENT_MISSING', 'the payload names a document: send its bytes in document')
  const decoded = decodeDocument(base64, ctx.maxBytes)
  if ('code' in decoded) return problem('/document', decoded.code, decoded.message)
  const bytes = decoded.bytes
  // The digest decides which file this is; the size must then agree with the signed payload too.
  const sm3 = createHash('sm3').update(bytes).digest('hex')
  if (sm3 !== declared.sm3) return problem('/document', 'DOCUMENT_DIGEST_MISMATCH', 'the file\'s SM3 is not the one the payload names')
  if (bytes.length !== declared.size) return problem('/certificate/payload/document/size', 'DOCUMENT_SIZE_MISMATCH', `the file has ${bytes.length} bytes, the payload says ${declared.size}`)

  const keys = await ctx.issuerKeys(c.payload.issuer.code)
  const verified = await verifyDocument(bytes, keys, ctx)
  if ('message' in verified) return problem('/document', verified.code, verified.message)
  const sealed = sealProblem(verified) ?? (await sealSigner(verified, keys, c.payload.issuer.code))
  if ('code' in sealed) return problem('/document', sealed.code, sealed.message)
  return { ok: true, value: { bytes, mediaType: OFD_MEDIA_TYPE, sm3, size: bytes.length } }
}

/** The file's bytes from canonical base64, size checked before decoding (base64 is 4/3 of the bytes). */
export function decodeDocument(base64: string, maxBytes: number): { bytes: Buffer } | Problem {
  if (base64.length > Math.ceil(maxBytes / 3) * 4) return { code: 'DOCUMENT_TOO_LARGE', message: `larger than ${maxBytes} bytes` }
  const bytes = decodeBase64(base64)
  if (!bytes) return { code: 'DOCUMENT_ENCODING_INVALID', message: 'not canonical base64 (RFC 4648 §4, padded)' }
  return { bytes }
}

/**
 * Every seal check of the file, on the OFD worker threads (`withFiles`: the package's files come
 * back too, for reading its metadata); a file that cannot be read as a sealed OFD at all is
 * DOCUMENT_INVALID.
 */
export async function verifyDocument(bytes: Buffer, keys: KeyRow[], ctx: Pick<DocumentContext, 'anchors'>, withFiles = false): Promise<OfdFileVerification | Problem> {
  try {
    // The issuer's registered chains may complete a seal's path: seals usually carry the leaf alone.
    const intermediates = keys.flatMap((k) => chainIntermediates(k.chainPem))
    return await verifyOfdFile(bytes, { anchors: ctx.anchors, intermediates, withFiles })
  } catch (err) {
    if (err instanceof OfdError) return { code: 'DOCUMENT_INVALID', message: `${err.code}: ${err.message}` }
    throw err
  }
}

/** Why the file's seals are not good enough (verifyFile not 0, or no electronic seal at all). */
export function sealProblem(verified: OfdFileVerification): Problem | undefined {
  if (verified.code !== 0) {
    const failing = verified.checks.filter((k) => k.outcome === 'fail').map((k) => `${k.check} ${k.reason}`)
    return { code: 'DOCUMENT_SEAL_INVALID', message: `verifyFile ${verified.code} (${verified.resultText}): ${failing.join(', ')}` }
  }
  if (!verified.signatures.some((s) => s.type === 'Seal')) return { code: 'DOCUMENT_SEAL_INVALID', message: 'the file carries no electronic seal' }
  return undefined
}

/** Each seal was made by a registered key of this issuer, active now; the first seal's kid. */
export async function sealSigner(verified: OfdFileVerification, keys: KeyRow[], issuerCode: string): Promise<{ kid: string } | Problem> {
  let first: string | undefined
  for (const seal of verified.signatures.filter((s) => s.type === 'Seal')) {
    const kid = await keyThumbprint(new X509Certificate(seal.signerCertificate!).publicKey)
    const key = keys.find((k) => k.kid === kid)
    if (!key) return { code: 'DOCUMENT_SIGNER_NOT_REGISTERED', message: `seal ${seal.id} was made with a key that is not a registered signing key of issuer ${issuerCode}` }
    // As for the JWS: the key must be good when the push is received (a compromise dated before
    // then, or a retirement, refuses it), and the seal's own time lies in the seal's validity.
    const window = keyWindowProblem(key, new Date())
    if (window) return { code: 'DOCUMENT_SIGNER_NOT_ACTIVE', message: `seal ${seal.id}: ${window}` }
    first ??= kid
  }
  return { kid: first! }
}

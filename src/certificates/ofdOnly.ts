import { createHash } from 'node:crypto'
import type { FieldProblem } from '../errors.js'
import { OfdError } from '../ofd/errors.js'
import { checkPayloadContent, type CheckContext, type CheckedCertificate } from './checks.js'
import { decodeDocument, OFD_MEDIA_TYPE, sealProblem, sealSigner, verifyDocument, type AttachedDocument, type DocumentContext } from './document.js'
import { canonicalJson, METADATA_FILE, metadataPointer, payloadFromMetadata, pointerFromPayload, sealCoversMetadata } from './ofdMetadata.js'

/**
 * A certificate whose only signed form is its sealed OFD file (issue 15): the seal is the
 * signature, and the payload is read from the GB/T 36903 metadata the seal covers. The file
 * passes every check a carried document passes, the metadata must lie in a file a seal covers,
 * and the payload it gives then passes every check a JWS payload passes. Nothing here writes.
 */

export interface OfdOnlyCertificate {
  /** form 'ofd': `jws` holds the payload's canonical JSON, `jwsSha256` the SHA-256 of the file. */
  certificate: CheckedCertificate
  document: AttachedDocument
}

export type OfdOnlyResult = { ok: true; value: OfdOnlyCertificate } | { ok: false; code: 'INVALID_CERTIFICATE' | 'DOCUMENT_METADATA_INVALID'; problems: FieldProblem[] }

const invalid = (code: string, message: string, pointer = '/document'): OfdOnlyResult => ({ ok: false, code: 'INVALID_CERTIFICATE', problems: [{ pointer, code, message }] })

export async function checkOfdOnly(base64: string, ctx: CheckContext, docs: DocumentContext): Promise<OfdOnlyResult> {
  const decoded = decodeDocument(base64, docs.maxBytes)
  if ('code' in decoded) return invalid(decoded.code, decoded.message)
  const bytes = decoded.bytes
  // The caller must be the issuer the metadata names (ISSUER_NOT_CALLER otherwise), so its
  // registered chains are the ones that may complete the seals' paths.
  const verified = await verifyDocument(bytes, await docs.issuerKeys(ctx.callerOrg), docs, true)
  if ('message' in verified) return invalid(verified.code, verified.message)
  const files = verified.files!
  // Metadata beside a seal, but outside what it signs, could be rewritten at will.
  const seals = verified.signatures.filter((s) => s.type === 'Seal').map((s) => s.path)
  if (!sealCoversMetadata(files, seals)) return invalid('DOCUMENT_METADATA_NOT_SEALED', `no seal of the file covers ${METADATA_FILE}, which holds its metadata (DocInfo/CustomDatas)`)
  const sealed = sealProblem(verified)
  if (sealed) return invalid(sealed.code, sealed.message)

  const sm3 = createHash('sm3').update(bytes).digest('hex')
  let derived
  try {
    derived = payloadFromMetadata(files, { mediaType: OFD_MEDIA_TYPE, sm3, size: bytes.length })
  } catch (err) {
    if (err instanceof OfdError) return invalid('DOCUMENT_INVALID', `${err.code}: ${err.message}`)
    throw err
  }
  if (!derived.ok) return { ok: false, code: 'DOCUMENT_METADATA_INVALID', problems: derived.problems }
  const p = derived.payload

  // The checks a JWS payload gets, addressed to the metadata field each came from.
  const content = await checkPayloadContent(p, ctx, (pointer, code, message) => ({ pointer: pointerFromPayload(pointer), code, message }))
  const problems = [...content.problems]
  // As a JWS's key must be: the issuer the metadata names is registered for this type and made every seal.
  const registered = await ctx.issuer(p.issuer.code)
  let kid: string | undefined
  if (!registered) problems.push({ pointer: metadataPointer('ZZBFJGDM'), code: 'ISSUER_UNKNOWN', message: 'no registered issuer with this code' })
  else {
    if (!registered.issuer.typeCodes.includes(p.typeCode)) problems.push({ pointer: metadataPointer('ZZLXDM'), code: 'ISSUER_NOT_ALLOWED_FOR_TYPE', message: 'the issuer is not registered for this type' })
    const signer = await sealSigner(verified, registered.keys, p.issuer.code)
    if ('code' in signer) problems.push({ pointer: '/document', ...signer })
    else kid = signer.kid
  }
  if (problems.length > 0 || !content.certId || !kid) return { ok: false, code: 'INVALID_CERTIFICATE', problems }

  return {
    ok: true,
    value: {
      certificate: {
        form: 'ofd',
        jws: canonicalJson(p),
        jwsSha256: createHash('sha256').update(bytes).digest('hex'),
        payload: p,
        certId: content.certId,
        holderId: content.holderId,
        signingKid: kid,
      },
      document: { bytes, mediaType: OFD_MEDIA_TYPE, sm3, size: bytes.length },
    },
  }
}

import { createHash, X509Certificate } from 'node:crypto'
import { children, expectTag, readOid, readWhole, value, whole, type Tlv } from '../crypto/der.js'
import { checkSigningCertificate } from '../crypto/x509.js'
import { sm2PublicKeyOf, sm2Verify } from '../crypto/sm2.js'
import type { OfdCheck } from './verify.js'

/**
 * The value of a Type="Sign" signature (a digital signature, no seal): either GB/T 35275
 * SignedData (SM2 CMS, OID 1.2.156.10197.6.1.4.2.2, or PKCS #7 1.2.840.113549.1.7.2) over the
 * Signature.xml bytes, detached, or a bare SEQUENCE { r, s }, which names no key and so can be
 * read but not verified.
 */

const OID_SM2_SIGNED_DATA = '1.2.156.10197.6.1.4.2.2'
const OID_PKCS7_SIGNED_DATA = '1.2.840.113549.1.7.2'
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4'

export interface SignValueResult {
  checks: OfdCheck[]
  signerCertificate?: Buffer
}

const fail = (check: OfdCheck['check'], reason: string, detail: string): OfdCheck => ({ check, outcome: 'fail', reason, detail })

function signedData(der: Uint8Array): { certs: Buffer[]; signedAttrs: Tlv | undefined; signature: Uint8Array } {
  const [oid, content] = children(der, readWhole(der, 0x30))
  const type = readOid(der, oid!)
  if (type !== OID_SM2_SIGNED_DATA && type !== OID_PKCS7_SIGNED_DATA) throw new Error(`content type ${type} is not SignedData`)
  const [sd] = children(der, expectTag(content, 0xa0))
  const parts = children(der, expectTag(sd, 0x30))
  const certsTlv = parts.find((p) => p.tag === 0xa0)
  const signerInfos = parts[parts.length - 1]!
  const [signerInfo] = children(der, expectTag(signerInfos, 0x31))
  const si = children(der, expectTag(signerInfo, 0x30))
  const signedAttrs = si.find((p) => p.tag === 0xa0)
  const signature = value(der, expectTag(si[si.length - 1], 0x04))
  return { certs: certsTlv ? children(der, certsTlv).map((c) => Buffer.from(whole(der, c))) : [], signedAttrs, signature }
}

function messageDigest(der: Uint8Array, attrs: Tlv): Buffer | undefined {
  for (const attr of children(der, attrs)) {
    const [oid, values] = children(der, attr)
    if (readOid(der, oid!) !== OID_MESSAGE_DIGEST) continue
    const [v] = children(der, values!)
    return Buffer.from(value(der, expectTag(v, 0x04)))
  }
  return undefined
}

export async function verifySignValue(bytes: Buffer, signatureXml: Buffer, anchors: readonly X509Certificate[]): Promise<SignValueResult> {
  const first = bytes.length > 2 ? children(bytes, readWhole(bytes, 0x30)).map((t) => t.tag) : []
  if (first.length === 2 && first.every((t) => t === 0x02)) {
    return { checks: [{ check: 'signerSignature', outcome: 'skipped', detail: 'a bare SEQUENCE { r, s } names no key: it cannot be verified from the file alone' }] }
  }
  let parsed
  try {
    parsed = signedData(bytes)
  } catch (err) {
    return { checks: [fail('signerSignature', 'SIGNED_VALUE_INVALID', `neither SignedData nor SEQUENCE { r, s }: ${(err as Error).message}`)] }
  }
  const cert = parsed.certs.map((c) => {
    try {
      return new X509Certificate(c)
    } catch {
      return undefined
    }
  })[0]
  const key = cert ? sm2PublicKeyOf(cert.publicKey) : undefined
  if (!cert || !key) return { checks: [fail('signerSignature', 'SIGNER_CERTIFICATE_INVALID', 'the SignedData carries no readable SM2 certificate')] }
  const checks: OfdCheck[] = []
  let signed: Uint8Array = signatureXml
  if (parsed.signedAttrs) {
    // Signed attributes are signed as a SET OF (tag 0x31), not as the [0] they are stored under.
    const attrs = Buffer.from(whole(bytes, parsed.signedAttrs))
    attrs[0] = 0x31
    signed = attrs
    const md = messageDigest(bytes, parsed.signedAttrs)
    checks.push(md && md.equals(createHash('sm3').update(signatureXml).digest()) ? { check: 'dataHash', outcome: 'pass' } : fail('dataHash', 'DATA_HASH_MISMATCH', 'the signed message digest is not the SM3 of Signature.xml'))
  }
  const ok = sm2Verify(key, signed, parsed.signature, 'der') || (parsed.signature.length === 64 && sm2Verify(key, signed, parsed.signature, 'raw'))
  checks.push(ok ? { check: 'signerSignature', outcome: 'pass' } : fail('signerSignature', 'SIGNATURE_INVALID', 'the SignedData signature does not verify'))
  const chained = await checkSigningCertificate(cert.toString(), anchors)
  checks.push(chained.ok ? { check: 'trustChain', outcome: 'pass' } : fail('trustChain', chained.problems[0]!.code, chained.problems.map((p) => p.message).join('; ')))
  return { checks, signerCertificate: Buffer.from(cert.raw) }
}

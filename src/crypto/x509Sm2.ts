import type { X509Certificate } from 'node:crypto'
import { children, readOid, readWhole, value, whole } from './der.js'
import { OID_SM2_WITH_SM3, sm2PublicKeyOf, sm2Verify } from './sm2.js'

/**
 * node:crypto's X509Certificate.verify() returns false for every SM2-signed certificate (it
 * checks with an empty distinguishing ID), so a certificate signed SM2-with-SM3 is checked here:
 * the issuer's SM2 key over the exact DER of TBSCertificate, ID 1234567812345678, the
 * signature a strict DER SEQUENCE { r, s }.
 */

interface SignedParts {
  tbs: Uint8Array
  algorithm: string
  signature: Uint8Array
}

/** TBSCertificate, signatureAlgorithm and signatureValue of a certificate's DER; undefined if malformed. */
export function signedParts(cert: X509Certificate): SignedParts | undefined {
  try {
    const der = cert.raw
    const [tbs, alg, bits] = children(der, readWhole(der, 0x30))
    if (!tbs || tbs.tag !== 0x30 || !alg || !bits || bits.tag !== 0x03) return undefined
    const [oid] = children(der, alg)
    const bitString = value(der, bits)
    if (bitString[0] !== 0) return undefined
    return { tbs: whole(der, tbs), algorithm: readOid(der, oid!), signature: bitString.subarray(1) }
  } catch {
    return undefined
  }
}

/** Whether the certificate is signed SM2-with-SM3 (then only checkSm2SignedBy can decide). */
export function isSm2Signed(cert: X509Certificate): boolean {
  return signedParts(cert)?.algorithm === OID_SM2_WITH_SM3
}

/** Whether `issuer`'s SM2 key made `cert`'s SM2-with-SM3 signature. Never throws. */
export function checkSm2SignedBy(issuer: X509Certificate, cert: X509Certificate): boolean {
  const parts = signedParts(cert)
  if (!parts || parts.algorithm !== OID_SM2_WITH_SM3) return false
  try {
    const key = sm2PublicKeyOf(issuer.publicKey)
    return key !== undefined && sm2Verify(key, parts.tbs, parts.signature, 'der')
  } catch {
    return false
  }
}

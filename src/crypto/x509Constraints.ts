import type { X509Certificate } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import { BasicConstraints, Certificate, KeyUsage, KeyUsageFlags, id_ce_basicConstraints, id_ce_keyUsage } from '@peculiar/asn1-x509'

/** What a certificate's basicConstraints and keyUsage extensions say. */
export interface Constraints {
  ca: boolean
  pathLen: number | undefined
  keyUsage: number | undefined
}

// Anchors are parsed once at start-up and consulted on every check.
const constraintsCache = new WeakMap<X509Certificate, Constraints>()

/**
 * Reads basicConstraints and keyUsage, which node:crypto does not expose (its `keyUsage` is the
 * extended key usage). Throws on a malformed or duplicated extension.
 */
export function readConstraints(cert: X509Certificate): Constraints {
  const cached = constraintsCache.get(cert)
  if (cached) return cached
  const extensions = AsnConvert.parse(cert.raw, Certificate).tbsCertificate.extensions ?? []
  const value = (id: string) => {
    const found = extensions.filter((e) => e.extnID === id)
    // RFC 5280 §4.2: at most one of each; with two, a reader could pick the permissive one.
    if (found.length > 1) throw new Error(`duplicate extension ${id}`)
    return found[0]?.extnValue.buffer
  }
  const bc = value(id_ce_basicConstraints)
  const ku = value(id_ce_keyUsage)
  const basic = bc ? AsnConvert.parse(bc, BasicConstraints) : undefined
  const result = { ca: basic?.cA === true, pathLen: basic?.pathLenConstraint, keyUsage: ku ? AsnConvert.parse(ku, KeyUsage).toNumber() : undefined }
  constraintsCache.set(cert, result)
  return result
}

/** Whether the key usage allows `flag`; no keyUsage extension allows everything (RFC 5280 §4.2.1.3). */
export function keyUsageAllows(c: Constraints, flag: KeyUsageFlags): boolean {
  return c.keyUsage === undefined || (c.keyUsage & flag) !== 0
}

/** Why a certificate may not sign other certificates, if it may not (RFC 5280 §4.2.1.3, §4.2.1.9). */
export function caDefect(c: Constraints): string | undefined {
  if (!c.ca) return 'is not a CA certificate (basicConstraints cA is not true)'
  if (!keyUsageAllows(c, KeyUsageFlags.keyCertSign)) return 'is a CA whose key usage lacks keyCertSign'
  return undefined
}

import type { X509Certificate } from 'node:crypto'

// What a verifier trusts, whatever it comes from: the database (the API) or a signed trust
// bundle (the offline CLI). The checks take this as an argument and never ask where it lives.

export interface TrustKey {
  kid: string
  algorithms: string[]
  publicKeyPem: string
  /** The signing certificate first, then any intermediates. */
  chainPem: string
  activeFrom: Date
  retiredAt?: Date | undefined
  compromisedAt?: Date | undefined
  notBefore: Date
  notAfter: Date
}

export interface TrustIssuer {
  code: string
  typeCodes: string[]
  keys: TrustKey[]
}

export interface TrustType {
  typeCode: string
  holderIdTypes: string[]
  issuers: string[]
}

export interface TrustSource {
  anchors: readonly X509Certificate[]
  /** Early-pilot credit codes accepted although their check character fails. */
  creditCodeExceptions: ReadonlySet<string>
  /** Issuers whose identifiers may carry another check character (CERT_ID_CHECK_EXCEPTIONS); none when absent. */
  certIdCheckExceptions?: ReadonlySet<string>
  issuer(code: string): Promise<TrustIssuer | undefined>
  type(typeCode: string): Promise<TrustType | undefined>
}

/**
 * Why `key` could not sign at `at`, as a stable reason and a sentence; undefined when its window
 * covers `at`. Same rule as a push (certificates/signature.ts keyWindowProblem), restated over
 * TrustKey because a bundle's keys are not database rows. A key compromised at T taints what it
 * signed from T on, so the caller picks `at`: when the certificate was received, or now.
 */
export function keyWindowFailure(key: TrustKey, at: Date): { reason: string; detail: string } | undefined {
  if (key.compromisedAt && key.compromisedAt <= at) return { reason: 'KEY_COMPROMISED', detail: `the key was revoked as compromised from ${key.compromisedAt.toISOString()}` }
  if (key.retiredAt && key.retiredAt <= at) return { reason: 'KEY_RETIRED', detail: `the key was retired from ${key.retiredAt.toISOString()}` }
  if (key.activeFrom > at || key.notBefore > at) return { reason: 'KEY_NOT_YET_ACTIVE', detail: `the key was not active yet at ${at.toISOString()}` }
  if (key.notAfter <= at) return { reason: 'KEY_EXPIRED', detail: `the key's certificate expired at ${key.notAfter.toISOString()}` }
  return undefined
}

import { createPublicKey, type KeyObject } from 'node:crypto'
import { chinaToday } from '../chinaDate.js'
import { verifyJwsSignature } from '../crypto/jwsVerify.js'
import type { SigningAlgorithm } from '../crypto/keys.js'
import { keyThumbprint } from '../crypto/keys.js'
import { checkSigningCertificate } from '../crypto/x509.js'
import { checkList, fail, pass, type CheckResult } from './checkList.js'
import { holderIdCheck, identifierCheck, issuerAllowedCheck, validityCheck } from './content.js'
import { decodeCertificate, type DecodedCertificate } from './decode.js'
import { keyWindowFailure, type TrustIssuer, type TrustKey, type TrustSource } from './trust.js'

/**
 * `at`: the instant the key must have been good at (when the certificate was received, or now
 * when that is unknown); `now`: today's date for the validity period and the holder's birth date.
 */
export interface VerifyTimes {
  at: Date
  now: Date
}

// Keys outlive verifiers: a kid names one public key (its RFC 7638 thumbprint), so what was
// derived from a kid and its PEM stays true for the life of the process. Bounded all the same.
const MAX_KEYS = 1000
const publicKeys = new Map<string, Promise<KeyObject | undefined>>()

function remember<V>(map: Map<string, V>, id: string, make: () => V): V {
  let found = map.get(id)
  if (found === undefined) {
    if (map.size >= MAX_KEYS) map.clear()
    map.set(id, (found = make()))
  }
  return found
}

// The key must be the one its kid names: a bundle could pair them wrongly.
const publicKey = (key: TrustKey) =>
  remember(publicKeys, `${key.kid}\n${key.publicKeyPem}`, () =>
    (async () => {
      const object = createPublicKey(key.publicKeyPem)
      return (await keyThumbprint(object)) === key.kid ? object : undefined
    })().catch(() => undefined),
  )

// Signatures that verified, for the process: the same bytes (the JWS's SHA-256, as presented),
// the same algorithm and the same key (a kid is its key's RFC 7638 thumbprint, which keyChecks
// checks against the PEM before the signature) verify again, so a certificate verified by its
// identifier again and again is not checked again each time (the signature was about a fifth of
// POST /v1/verify {id}'s CPU through jose; through node:crypto an RS256 one costs about 40 us, an
// ES256 one about 150 us, an SM2 one about 1 ms). Only a signature that verified is kept:
// "does not verify" can also mean that a worker thread failed, which the next try may not. Every
// other check (key window, chain, status, validity) is made anew each time.
const MAX_SIGNATURES = 10_000
const verifiedSignatures = new Set<string>()
const signatureStats = { checked: 0, remembered: 0 }

/** How many signatures this process checked, and how many it answered from those that verified before. */
export const signatureCheckStats = (): Readonly<typeof signatureStats> => ({ ...signatureStats })

/**
 * The checks that need only the certificate and what the verifier trusts: shared by the API and
 * the offline CLI. Trust-chain answers are memoised per verifier, so build one per request (the
 * API) or per run (the CLI); keys and parsed chains are kept for the process.
 */
export function createCertificateVerifier(trust: TrustSource) {
  const chains = new Map<string, Promise<CheckResult>>()

  const chainCheck = (key: TrustKey, at: Date) => {
    const memo = `${key.kid}|${at.getTime()}`
    let found = chains.get(memo)
    if (!found) {
      found = checkSigningCertificate(key.chainPem, trust.anchors, at).then((checked): CheckResult => {
        if (!checked.ok) {
          const first = checked.problems[0]!
          const reason = first.code === 'NOT_TRUSTED' || first.code === 'CHAIN_INVALID' ? first.code : `SIGNING_CERT_${first.code}`
          return fail('trustChain', reason, checked.problems.map((p) => p.message).join('; '))
        }
        if (checked.value.kid !== key.kid) return fail('trustChain', 'CHAIN_KEY_MISMATCH', "the signing certificate does not carry the key's public key")
        return pass('trustChain', `chained to a trust anchor at ${at.toISOString()}`)
      })
      chains.set(memo, found)
    }
    return found
  }

  // The key's algorithms were checked against the header first: no alg confusion reaches here.
  async function signatureCheck(d: DecodedCertificate, alg: string, key: TrustKey): Promise<CheckResult> {
    const memo = `${d.sha256}|${alg}|${key.kid}`
    if (verifiedSignatures.has(memo)) {
      signatureStats.remembered++
      return pass('signature')
    }
    signatureStats.checked++
    if (await verifyJwsSignature(d.jws, alg as SigningAlgorithm, key.publicKeyPem, key.kid)) {
      if (verifiedSignatures.size >= MAX_SIGNATURES) verifiedSignatures.clear()
      verifiedSignatures.add(memo)
      return pass('signature')
    }
    return fail('signature', 'SIGNATURE_INVALID', 'the signature does not verify with the named key')
  }

  /** registeredKey, then signature, keyWindow and trustChain, which need the key. */
  async function keyChecks(d: DecodedCertificate, issuer: TrustIssuer | undefined, at: Date): Promise<CheckResult[]> {
    const { kid, alg } = d.header
    if (typeof kid !== 'string' || kid === '') return [fail('registeredKey', 'KID_MISSING', 'the header does not name the signing key')]
    if (!issuer) return [fail('registeredKey', 'ISSUER_UNKNOWN', 'no registered issuer with this code')]
    const key = issuer.keys.find((k) => k.kid === kid)
    if (!key) return [fail('registeredKey', 'KID_UNKNOWN', 'not a registered key of this issuer')]
    if (!key.algorithms.includes(alg)) return [fail('registeredKey', 'ALG_KEY_MISMATCH', `this key signs with ${key.algorithms.join(' or ')}`)]
    const object = await publicKey(key)
    if (!object) return [fail('registeredKey', 'KEY_MISMATCH', 'the registered public key does not match its kid')]
    const [signature, chain] = await Promise.all([signatureCheck(d, alg, key), chainCheck(key, at)])
    const window = keyWindowFailure(key, at)
    return [pass('registeredKey'), signature, window ? fail('keyWindow', window.reason, window.detail) : pass('keyWindow', `active at ${at.toISOString()}`), chain]
  }

  /** Every check but format, status and matchesRecord, for a certificate that decoded. */
  async function check(d: DecodedCertificate, times: VerifyTimes): Promise<CheckResult[]> {
    const p = d.payload
    const [issuer, type] = await Promise.all([trust.issuer(p.issuer.code), trust.type(p.typeCode)])
    return [
      pass('format'),
      ...(await keyChecks(d, issuer, times.at)),
      issuerAllowedCheck(p, type, issuer),
      identifierCheck(p, trust.certIdCheckExceptions),
      holderIdCheck(p, type, trust.creditCodeExceptions, times.now),
      validityCheck(p, chinaToday(times.now)),
    ]
  }

  /** Decodes and checks one JWS; `decoded` is absent when the format check failed. */
  async function verify(jws: string, times: VerifyTimes, maxBytes: number): Promise<{ decoded?: DecodedCertificate; checks: CheckResult[] }> {
    const decoded = decodeCertificate(jws, maxBytes)
    if (!decoded.ok) return { checks: checkList([decoded.check]) }
    return { decoded: decoded.value, checks: checkList(await check(decoded.value, times)) }
  }

  return { check, verify }
}

export type CertificateVerifier = ReturnType<typeof createCertificateVerifier>

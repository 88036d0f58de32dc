import { X509Certificate } from 'node:crypto'
import type { CertificateRow } from '../certificates/read.js'
import { chinaToday } from '../chinaDate.js'
import type { CertificatePayload } from '../certificates/schemas.js'
import { keyThumbprint } from '../crypto/keys.js'
import { chainIntermediates } from '../crypto/x509.js'
import { maskIdNumbersIn } from '../ids/idNumber.js'
import { OfdError } from '../ofd/errors.js'
import { verifyOfdFile, type OfdFileVerification } from '../ofd/pool.js'
import type { OfdCheckName } from '../ofd/verify.js'
import { fail, pass, type CheckResult } from './checkList.js'
import { holderIdCheck, identifierCheck, issuerAllowedCheck, validityCheck } from './content.js'
import { keyWindowFailure, type TrustIssuer, type TrustSource } from './trust.js'

/**
 * The checks of a stored certificate whose only signed form is its sealed OFD file (form 'ofd'):
 * the file's seals stand where a JWS signature would, each seal's key must be a registered key
 * of the issuer, good when the certificate was received, and the payload its metadata gave gets
 * the same content checks as a JWS payload. Status and matchesRecord are the caller's.
 */

// The seal checks that say whom to trust, rather than whether the file is what was sealed.
const CHAIN_CHECKS: readonly OfdCheckName[] = ['trustChain', 'sealMakerChain']

export interface StoredOfdDeps {
  trust: TrustSource
  /** The stored file's bytes. */
  document(certificateId: string): Promise<Buffer | undefined>
}

export async function storedOfdChecks(row: CertificateRow, payload: CertificatePayload, deps: StoredOfdDeps, now: Date, presented?: OfdFileVerification): Promise<CheckResult[]> {
  const { trust } = deps
  const [issuer, type] = await Promise.all([trust.issuer(row.issuerCode), trust.type(row.typeCode)])
  let ofd = presented
  if (!ofd) {
    const bytes = await deps.document(row.id)
    if (!bytes) return [fail('format', 'DOCUMENT_MISSING', 'the stored certificate\'s file is missing')]
    try {
      // The issuer's registered chains complete the seals' paths, as at push.
      ofd = await verifyOfdFile(bytes, { anchors: trust.anchors, intermediates: (issuer?.keys ?? []).flatMap((k) => chainIntermediates(k.chainPem)) })
    } catch (err) {
      if (!(err instanceof OfdError)) throw err
      return [fail('format', err.code, err.message)]
    }
  }
  return [
    pass('format', 'a sealed OFD file; the payload is its GB/T 36903 metadata'),
    ...sealChecks(ofd),
    ...(await sealKeyChecks(ofd, issuer, row.receivedAt)),
    issuerAllowedCheck(payload, type, issuer),
    identifierCheck(payload, trust.certIdCheckExceptions),
    holderIdCheck(payload, type, trust.creditCodeExceptions, now),
    validityCheck(payload, chinaToday(now)),
  ]
}

/** signature: the file is what was sealed; trustChain: the seals chain to an anchor. Details quote the file's paths, masked. */
function sealChecks(ofd: OfdFileVerification): CheckResult[] {
  const failing = (chain: boolean) => ofd.checks.find((c) => c.outcome === 'fail' && CHAIN_CHECKS.includes(c.check) === chain)
  const said = (c: { check: string; detail?: string }) => `the file's seals: ${c.check}${c.detail ? ` (${maskIdNumbersIn(c.detail)})` : ''}`
  const broken = failing(false)
  const untrusted = failing(true)
  return [
    broken ? fail('signature', broken.reason ?? 'SEAL_INVALID', said(broken)) : pass('signature', `the file's seals verify (verifyFile ${ofd.code})`),
    untrusted ? fail('trustChain', untrusted.reason ?? 'NOT_TRUSTED', said(untrusted)) : pass('trustChain', 'every seal chained to a trust anchor at its signing time'),
  ]
}

/** registeredKey and keyWindow: every seal was made with a registered key of the issuer, good at `at`. */
async function sealKeyChecks(ofd: OfdFileVerification, issuer: TrustIssuer | undefined, at: Date): Promise<CheckResult[]> {
  if (!issuer) return [fail('registeredKey', 'ISSUER_UNKNOWN', 'no registered issuer with this code')]
  const seals = ofd.signatures.filter((s) => s.type === 'Seal' && s.signerCertificate)
  if (seals.length === 0) return [fail('registeredKey', 'NO_SEAL', 'the file carries no electronic seal')]
  for (const seal of seals) {
    const kid = await keyThumbprint(new X509Certificate(seal.signerCertificate!).publicKey)
    const key = issuer.keys.find((k) => k.kid === kid)
    if (!key) return [fail('registeredKey', 'KID_UNKNOWN', `seal ${maskIdNumbersIn(seal.id)} was made with a key that is not registered to this issuer`)]
    const window = keyWindowFailure(key, at)
    if (window) return [pass('registeredKey'), fail('keyWindow', window.reason, window.detail)]
  }
  return [pass('registeredKey', 'every seal was made with a registered key of the issuer'), pass('keyWindow', `active at ${at.toISOString()}`)]
}

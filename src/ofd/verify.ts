import { createHash, X509Certificate } from 'node:crypto'
import { checkSigningCertificate } from '../crypto/x509.js'
import { OID_SM2_WITH_SM3, sm2PublicKeyOf, sm2Verify, type Sm2PublicKey } from '../crypto/sm2.js'
import { OfdError } from './errors.js'
import { folderOf, resolveLocation } from './paths.js'
import { parseSealSignature, type Seal, type SealSignature } from './ses.js'
import { verifySignValue } from './signValue.js'
import { attr, children, child, parseXml, text } from './xml.js'
import { DEFAULT_ZIP_LIMITS, readPackage, type PackageFiles, type ZipLimits } from './zip.js'

/**
 * Verifies the seals and signatures of a sealed OFD document (GB/T 33190, GB/T 38540,
 * GM/T 0031) with nothing but its bytes and the trust anchors: a pure module shared by the API
 * and the CLI. The answer is the national verifyFile code (0 correct · 1 seal signature failed ·
 * 2 file check failed) and every check, per signature, named with its outcome.
 */

export const OFD_CHECK_NAMES = [
  'references', // every Reference's CheckValue is the digest of the exact bytes of the file it names
  'dataHash', // the seal signature's dataHash is the SM3 of Signature.xml's bytes
  'propertyInfo', // the seal signature names this Signature.xml
  'signerSignature', // the signer's SM2 signature over the exact DER of TBS_Sign
  'sealSignature', // the seal maker's signature inside the seal
  'signingTime', // the signing time lies within the seal's validity
  'signerInSeal', // the signer's certificate is one the seal lists (or its digest)
  'trustChain', // the signer's certificate chains to a trust anchor at the signing time
  'sealMakerChain', // the seal maker's certificate chains to a trust anchor at the signing time
  'coverage', // no file of the package is left outside every signature
] as const
export type OfdCheckName = (typeof OFD_CHECK_NAMES)[number]

export interface OfdCheck {
  check: OfdCheckName
  outcome: 'pass' | 'fail' | 'skipped'
  reason?: string
  detail?: string
}

export interface OfdSignatureResult {
  id: string
  type: 'Seal' | 'Sign'
  /** The Signature.xml inside the package. */
  path: string
  sealName?: string
  sealVersion?: number
  signingTime?: string
  /** The signer's certificate (DER), for callers that match it against registered keys. */
  signerCertificate?: Buffer
  checks: OfdCheck[]
}

export interface OfdVerification {
  code: 0 | 1 | 2
  resultText: string
  signatures: OfdSignatureResult[]
  /** Files no signature covers (package paths). */
  uncovered: string[]
  /** Every check across the signatures: a check fails if it failed for any signature. */
  checks: OfdCheck[]
  /** The package's files, for callers that read more of it (metadata); never sent out. */
  files: PackageFiles
}

export interface OfdVerifyOptions {
  anchors: readonly X509Certificate[]
  /** CA certificates that may complete a path from a seal's certificate to an anchor (seals usually carry the leaf alone). */
  intermediates?: readonly X509Certificate[]
  limits?: ZipLimits
}

const pass = (check: OfdCheckName, detail?: string): OfdCheck => ({ check, outcome: 'pass', ...(detail ? { detail } : {}) })
const fail = (check: OfdCheckName, reason: string, detail: string): OfdCheck => ({ check, outcome: 'fail', reason, detail })
const skipped = (check: OfdCheckName, detail: string): OfdCheck => ({ check, outcome: 'skipped', detail })

const FILE_CHECKS: readonly OfdCheckName[] = ['references', 'dataHash', 'propertyInfo', 'coverage']
const RESULT_TEXT = { 0: 'correct', 1: 'seal signature failed', 2: 'file check failed' } as const

/** Digest algorithms a Reference may name: SM3 as its name or OID (with or without .2), SHA-256. */
function digestFor(method: string | undefined): 'sm3' | 'sha256' | undefined {
  const m = (method ?? 'SM3').trim()
  if (/^sm3$/i.test(m) || m === '1.2.156.10197.1.401' || m === '1.2.156.10197.1.401.2') return 'sm3'
  if (/^sha-?256$/i.test(m) || m === '2.16.840.1.101.3.4.2.1') return 'sha256'
  return undefined
}

const digest = (alg: 'sm3' | 'sha256', bytes: Uint8Array) => createHash(alg).update(bytes).digest()

function certificate(der: Buffer): { cert: X509Certificate; key: Sm2PublicKey } | undefined {
  try {
    const cert = new X509Certificate(der)
    const key = sm2PublicKeyOf(cert.publicKey)
    return key ? { cert, key } : undefined
  } catch {
    return undefined
  }
}

/** A signature value as the container gave it: strict DER SEQUENCE { r, s }, else exactly 64 bytes r ‖ s. */
export function verifySm2Value(key: Sm2PublicKey, signed: Uint8Array, signature: Uint8Array): boolean {
  return sm2Verify(key, signed, signature, 'der') || (signature.length === 64 && sm2Verify(key, signed, signature, 'raw'))
}

/** Whether the seal maker's signature inside a seal verifies (an .esl file on its own). */
export function verifySealMaker(seal: Seal): boolean {
  const maker = certificate(seal.makerCert)
  return seal.makerAlgorithm === OID_SM2_WITH_SM3 && maker !== undefined && verifySm2Value(maker.key, seal.makerSigned, seal.makerSignature)
}

interface SignatureXml {
  references: { location: string; path: string | undefined; checkValue: string }[]
  checkMethod: string | undefined
  signedValuePath: string | undefined
}

function readSignatureXml(files: PackageFiles, path: string): SignatureXml {
  const xml = parseXml(files.get(path)!, path)
  const refs = child(xml, 'Signature', 'SignedInfo', 'References')
  return {
    checkMethod: attr(refs, 'CheckMethod'),
    references: children(xml, 'Signature', 'SignedInfo', 'References', 'Reference').map((r) => {
      const location = attr(r, 'FileRef') ?? ''
      return { location, path: resolveLocation(files, location, path), checkValue: (text(r, 'CheckValue') ?? '').replace(/\s/g, '') }
    }),
    signedValuePath: (() => {
      const loc = text(xml, 'Signature', 'SignedValue')
      return loc === undefined ? undefined : resolveLocation(files, loc, path)
    })(),
  }
}

function referencesCheck(files: PackageFiles, sig: SignatureXml): OfdCheck {
  const alg = digestFor(sig.checkMethod)
  if (!alg) return fail('references', 'CHECK_METHOD_UNSUPPORTED', `CheckMethod ${sig.checkMethod ?? ''} is neither SM3 nor SHA-256`)
  if (sig.references.length === 0) return fail('references', 'NO_REFERENCES', 'the signature covers no file')
  const missing = sig.references.filter((r) => !r.path).map((r) => r.location)
  const changed = sig.references.filter((r) => r.path && digest(alg, files.get(r.path)!).toString('base64') !== r.checkValue).map((r) => r.path!)
  if (missing.length > 0) return fail('references', 'REFERENCE_MISSING', `${missing.length} referenced file(s) are not in the package: ${missing.join(', ')}`)
  if (changed.length > 0) return fail('references', 'DIGEST_MISMATCH', `${changed.length} of ${sig.references.length} file(s) differ from what was signed: ${changed.join(', ')}`)
  return pass('references', `${sig.references.length} file(s), ${alg.toUpperCase()}`)
}

async function sealChecks(files: PackageFiles, path: string, ses: SealSignature, trust: OfdVerifyOptions): Promise<OfdCheck[]> {
  const checks: OfdCheck[] = []
  // The seal signature binds Signature.xml (and through it every referenced digest).
  checks.push(digest('sm3', files.get(path)!).equals(ses.dataHash) ? pass('dataHash') : fail('dataHash', 'DATA_HASH_MISMATCH', 'Signature.xml is not the file that was sealed'))
  checks.push(resolveLocation(files, ses.propertyInfo, '') === path ? pass('propertyInfo') : fail('propertyInfo', 'PROPERTY_INFO_MISMATCH', `the seal signature names ${ses.propertyInfo}`))
  const signer = certificate(ses.signerCert)
  if (ses.algorithm !== OID_SM2_WITH_SM3) checks.push(fail('signerSignature', 'ALGORITHM_UNSUPPORTED', `signature algorithm ${ses.algorithm}`))
  else if (!signer) checks.push(fail('signerSignature', 'SIGNER_CERTIFICATE_INVALID', 'the signer\'s certificate is not a readable SM2 certificate'))
  else checks.push(verifySm2Value(signer.key, ses.signed, ses.signature) ? pass('signerSignature') : fail('signerSignature', 'SIGNATURE_INVALID', 'the signer\'s signature over TBS_Sign does not verify'))
  const maker = certificate(ses.seal.makerCert)
  if (ses.seal.makerAlgorithm !== OID_SM2_WITH_SM3) checks.push(fail('sealSignature', 'ALGORITHM_UNSUPPORTED', `seal signature algorithm ${ses.seal.makerAlgorithm}`))
  else if (!maker) checks.push(fail('sealSignature', 'MAKER_CERTIFICATE_INVALID', 'the seal maker\'s certificate is not a readable SM2 certificate'))
  else checks.push(verifySm2Value(maker.key, ses.seal.makerSigned, ses.seal.makerSignature) ? pass('sealSignature') : fail('sealSignature', 'SEAL_SIGNATURE_INVALID', 'the seal maker\'s signature does not verify'))
  const t = ses.signingTime
  if (!t) checks.push(fail('signingTime', 'SIGNING_TIME_INVALID', 'the signing time cannot be read'))
  else if (t < ses.seal.validStart || t > ses.seal.validEnd) {
    checks.push(fail('signingTime', 'SEAL_NOT_VALID_AT_SIGNING', `signed ${t.toISOString()}, the seal is valid ${ses.seal.validStart.toISOString()} to ${ses.seal.validEnd.toISOString()}`))
  } else checks.push(pass('signingTime', t.toISOString()))
  checks.push(signerInSeal(ses))
  checks.push(await chainCheck('trustChain', signer, trust, t))
  // A seal vouches for nothing unless whoever made it is trusted too: anyone can make a seal
  // around their own certificate and sign it with their own key.
  checks.push(await chainCheck('sealMakerChain', maker, trust, t))
  return checks
}

/**
 * The intermediates that can sit above `leaf`, walking issuer names up until an anchor's name:
 * a caller may offer every CA it knows (all registered issuers' chains), and the path builder is
 * given only the few that matter. Names steer; the signatures are still checked by the builder.
 */
function pathCandidates(leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[]): X509Certificate[] {
  const anchorNames = new Set(anchors.map((a) => a.subject))
  const picked: X509Certificate[] = []
  let issuer = leaf.issuer
  for (let depth = 0; depth < 4 && !anchorNames.has(issuer); depth++) {
    const next = intermediates.find((c) => c.subject === issuer && !picked.includes(c))
    if (!next) break
    picked.push(next)
    issuer = next.issuer
  }
  return picked
}

async function chainCheck(check: 'trustChain' | 'sealMakerChain', who: { cert: X509Certificate } | undefined, { anchors, intermediates = [] }: OfdVerifyOptions, at: Date | undefined): Promise<OfdCheck> {
  if (!who) return skipped(check, 'no readable certificate')
  const chained = await checkSigningCertificate(who.cert.toString() + pathCandidates(who.cert, intermediates, anchors).map((c) => c.toString()).join(''), anchors, at ?? new Date())
  return chained.ok ? pass(check) : fail(check, chained.problems[0]!.code, chained.problems.map((p) => p.message).join('; '))
}

function signerInSeal(ses: SealSignature): OfdCheck {
  const { certs, certDigests } = ses.seal
  if (certs.some((c) => c.equals(ses.signerCert))) return pass('signerInSeal')
  for (const d of certDigests) {
    const alg = digestFor(d.algorithm.replace(/^sha256$/i, 'SHA-256'))
    if (alg && digest(alg, ses.signerCert).equals(d.digest)) return pass('signerInSeal', 'by digest')
  }
  if (certs.length === 0 && certDigests.length === 0) return fail('signerInSeal', 'SEAL_LISTS_NO_CERTIFICATE', 'the seal lists no certificate it may be used with')
  return fail('signerInSeal', 'SIGNER_NOT_IN_SEAL', 'the signer\'s certificate is not one the seal may be used with')
}

/** Files that need no covering: the signature machinery itself. */
function signatureFiles(signaturesPath: string, signatures: { path: string; signedValue?: string }[]): Set<string> {
  return new Set([signaturesPath, ...signatures.flatMap((s) => [s.path, ...(s.signedValue ? [s.signedValue] : [])])])
}

async function verifyOne(files: PackageFiles, entry: { id: string; type: 'Seal' | 'Sign'; path: string }, trust: OfdVerifyOptions): Promise<{ result: OfdSignatureResult; covered: string[]; signedValue?: string }> {
  const sig = readSignatureXml(files, entry.path)
  const result: OfdSignatureResult = { id: entry.id, type: entry.type, path: entry.path, checks: [referencesCheck(files, sig)] }
  const covered = sig.references.flatMap((r) => (r.path ? [r.path] : []))
  const signedValue = sig.signedValuePath ? files.get(sig.signedValuePath) : undefined
  if (!signedValue) {
    result.checks.push(fail('signerSignature', 'SIGNED_VALUE_MISSING', 'the SignedValue file is not in the package'))
    return { result, covered }
  }
  if (entry.type === 'Sign') {
    const sign = await verifySignValue(signedValue, files.get(entry.path)!, trust.anchors)
    result.checks.push(...sign.checks)
    if (sign.signerCertificate) result.signerCertificate = sign.signerCertificate
    return { result, covered, signedValue: sig.signedValuePath }
  }
  let ses: SealSignature
  try {
    ses = parseSealSignature(signedValue)
  } catch (err) {
    result.checks.push(fail('signerSignature', 'SIGNED_VALUE_INVALID', (err as Error).message))
    return { result, covered, signedValue: sig.signedValuePath }
  }
  Object.assign(result, { sealName: ses.seal.name, sealVersion: ses.version, signingTime: ses.signingTime?.toISOString() ?? ses.signingTimeText, signerCertificate: ses.signerCert })
  result.checks.push(...(await sealChecks(files, entry.path, ses, trust)))
  return { result, covered, signedValue: sig.signedValuePath }
}

function signatureEntries(files: PackageFiles): { signaturesPath: string; entries: { id: string; type: 'Seal' | 'Sign'; path: string }[] } {
  if (!files.has('OFD.xml')) throw new OfdError('OFD_STRUCTURE_INVALID', 'the package has no OFD.xml')
  const ofd = parseXml(files.get('OFD.xml')!, 'OFD.xml')
  const location = children(ofd, 'OFD', 'DocBody')
    .map((body) => text(body, 'Signatures'))
    .find((s) => s !== undefined)
  const signaturesPath = location === undefined ? undefined : resolveLocation(files, location, 'OFD.xml')
  if (!signaturesPath) throw new OfdError('OFD_STRUCTURE_INVALID', 'the document names no Signatures.xml that is in the package: it is not sealed')
  const list = parseXml(files.get(signaturesPath)!, signaturesPath)
  const entries = children(list, 'Signatures', 'Signature').map((s) => {
    const loc = attr(s, 'BaseLoc') ?? ''
    const path = resolveLocation(files, loc, signaturesPath)
    if (!path) throw new OfdError('OFD_STRUCTURE_INVALID', `a signature's BaseLoc ${loc} is not in the package`)
    // Type is optional and Seal by default (GB/T 33190 §18).
    return { id: attr(s, 'ID') ?? '', type: attr(s, 'Type') === 'Sign' ? ('Sign' as const) : ('Seal' as const), path }
  })
  if (entries.length === 0) throw new OfdError('OFD_STRUCTURE_INVALID', 'Signatures.xml lists no signature')
  return { signaturesPath, entries }
}

/** The worst outcome of each check across signatures. */
function combine(results: OfdSignatureResult[], coverage: OfdCheck): OfdCheck[] {
  const all = [...results.flatMap((r) => r.checks), coverage]
  return OFD_CHECK_NAMES.map((name) => {
    const of = all.filter((c) => c.check === name)
    return of.find((c) => c.outcome === 'fail') ?? of.find((c) => c.outcome === 'pass') ?? skipped(name, 'not examined')
  })
}

/**
 * Verifies every signature of the OFD file in `bytes`.
 * @throws OfdError when the file cannot be read as a sealed OFD package at all (a 4xx for callers).
 */
export async function verifyOfd(bytes: Buffer, opts: OfdVerifyOptions): Promise<OfdVerification> {
  const files = await readPackage(bytes, opts.limits ?? DEFAULT_ZIP_LIMITS)
  const { signaturesPath, entries } = signatureEntries(files)
  const done = await Promise.all(entries.map((e) => verifyOne(files, e, opts)))
  const covered = new Set(done.flatMap((d) => d.covered))
  const exempt = signatureFiles(
    signaturesPath,
    done.map((d) => ({ path: d.result.path, ...(d.signedValue ? { signedValue: d.signedValue } : {}) })),
  )
  const uncovered = [...files.keys()].filter((p) => !covered.has(p) && !exempt.has(p))
  const coverage = uncovered.length === 0 ? pass('coverage') : fail('coverage', 'FILES_NOT_COVERED', `${uncovered.length} file(s) no signature covers: ${uncovered.join(', ')}`)
  const signatures = done.map((d) => d.result)
  const checks = combine(signatures, coverage)
  // A file is correct only if some signature in it was actually verified: a bare r ‖ s names no key.
  const signer = checks.findIndex((c) => c.check === 'signerSignature')
  if (checks[signer]!.outcome === 'skipped') checks[signer] = fail('signerSignature', 'NO_VERIFIABLE_SIGNATURE', 'no signature of the file can be verified from the file alone')
  const failedFile = checks.some((c) => c.outcome === 'fail' && FILE_CHECKS.includes(c.check))
  const failedSeal = checks.some((c) => c.outcome === 'fail')
  const code = failedFile ? 2 : failedSeal ? 1 : 0
  return { code, resultText: RESULT_TEXT[code], signatures, uncovered, checks, files }
}

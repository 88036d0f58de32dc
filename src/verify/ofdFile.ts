import { createHash, X509Certificate } from 'node:crypto'
import { open } from 'node:fs/promises'
import { keyThumbprint } from '../crypto/keys.js'
import { chainIntermediates } from '../crypto/x509.js'
import { maskIdNumbersIn } from '../ids/index.js'
import { OfdError } from '../ofd/errors.js'
import { OFD_CHECK_NAMES, verifyOfd, type OfdSignatureResult } from '../ofd/verify.js'
import type { TrustBundlePayload } from '../trust/bundle.js'
import type { CheckOutcome } from './checkList.js'
import { keyWindowFailure, type TrustKey, type TrustSource } from './trust.js'

/**
 * A sealed OFD file checked offline, as `zhengzhao verify` does: the seals in full with the
 * OFD verifier against the bundle's anchors, then whether each seal was made with a signing key
 * the bundle registers to some issuer, active at the instant judged. What comes out is stable
 * codes, the file's SM3 and the issuer codes: never the holder, the metadata or a seal's name
 * (a personal seal is named after a person).
 */

// status: filled by whoever knows it (the bundle's status list, by the file's SM3); skipped here.
export const DOCUMENT_CHECK_NAMES = ['format', ...OFD_CHECK_NAMES, 'registeredKey', 'keyWindow', 'status'] as const

export interface DocumentCheck {
  check: (typeof DOCUMENT_CHECK_NAMES)[number]
  outcome: CheckOutcome
  reason?: string
  detail?: string
}

/** What the bundle offers for OFD files: anchors, the CAs of every registered chain, the keys by kid. */
export interface OfdTrust {
  anchors: readonly X509Certificate[]
  intermediates: readonly X509Certificate[]
  keys: ReadonlyMap<string, { issuer: string; key: TrustKey }>
}

/** A signature as reported: no certificate bytes, no seal name; the issuer code when its key is registered. */
export type ReportedSignature = Omit<OfdSignatureResult, 'signerCertificate' | 'sealName'> & { issuer?: string }

export interface DocumentReport {
  /** Hex SM3 of the exact file (absent when it was too large to read). */
  sm3?: string
  size: number
  /** verifyFile's code (0 correct · 1 seal signature failed · 2 file check failed), when the file could be read. */
  code?: 0 | 1 | 2
  resultText?: string
  signatures?: ReportedSignature[]
  uncovered?: string[]
}

export interface DocumentOutcome {
  checks: DocumentCheck[]
  document: DocumentReport
  /** Issuers whose registered keys made the seals. */
  issuers: string[]
  /** The bytes, for the live check; absent when the file was not read or is no OFD package. */
  bytes?: Buffer
}

/** Reads the anchors, intermediates and registered keys of a bundle: every issuer's chains, minus their leaves. */
export async function ofdTrustFromBundle(payload: TrustBundlePayload, trust: TrustSource): Promise<OfdTrust> {
  const keys = new Map<string, { issuer: string; key: TrustKey }>()
  const intermediates = new Map<string, X509Certificate>()
  for (const { code } of payload.issuers) {
    for (const key of (await trust.issuer(code))?.keys ?? []) {
      keys.set(key.kid, { issuer: code, key })
      for (const cert of chainIntermediates(key.chainPem)) intermediates.set(cert.fingerprint256, cert)
    }
  }
  return { anchors: trust.anchors, intermediates: [...intermediates.values()], keys }
}

/** All the checks in their fixed order; any not given is skipped. */
function documentChecks(given: readonly DocumentCheck[]): DocumentCheck[] {
  const byName = new Map(given.map((c) => [c.check, c]))
  return DOCUMENT_CHECK_NAMES.map((check) => byName.get(check) ?? { check, outcome: 'skipped' as const })
}

/** The file's bytes, or its size alone when it holds more than maxBytes: never more than maxBytes + 1 read. */
async function readBounded(path: string, maxBytes: number): Promise<{ bytes?: Buffer; size: number }> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) return { size }
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1)
    let filled = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
      // It grew since stat: more than allowed now.
      if (filled > maxBytes) return { size: filled }
      if (filled === buffer.length) break
    }
    return { bytes: buffer.subarray(0, filled), size: filled }
  } finally {
    await handle.close()
  }
}

async function kidOf(der: Buffer | undefined): Promise<string | undefined> {
  if (!der) return undefined
  try {
    return await keyThumbprint(new X509Certificate(der).publicKey)
  } catch {
    return undefined
  }
}

/** registeredKey and keyWindow: every seal made with a key the bundle registers, good at `at`. */
async function signerChecks(signatures: OfdSignatureResult[], trust: OfdTrust, at: Date): Promise<{ checks: DocumentCheck[]; issuerOf: Map<OfdSignatureResult, string> }> {
  const issuerOf = new Map<OfdSignatureResult, string>()
  const seals = signatures.filter((s) => s.type === 'Seal')
  if (seals.length === 0) return { checks: [{ check: 'registeredKey', outcome: 'fail', reason: 'NO_SEAL', detail: 'the file carries no electronic seal' }], issuerOf }
  const unregistered: string[] = []
  const windows: string[] = []
  let reason: string | undefined
  for (const seal of seals) {
    const found = trust.keys.get((await kidOf(seal.signerCertificate)) ?? '')
    if (!found) {
      unregistered.push(seal.id)
      continue
    }
    issuerOf.set(seal, found.issuer)
    const window = keyWindowFailure(found.key, at)
    if (window) {
      reason ??= window.reason
      windows.push(`seal ${seal.id}: ${window.detail}`)
    }
  }
  const registered: DocumentCheck =
    unregistered.length > 0
      ? { check: 'registeredKey', outcome: 'fail', reason: 'SIGNER_NOT_REGISTERED', detail: `seal(s) ${unregistered.join(', ')} made with a key no issuer in the bundle registered` }
      : { check: 'registeredKey', outcome: 'pass', detail: `issuer ${[...new Set(issuerOf.values())].join(', ')}` }
  const window: DocumentCheck = reason ? { check: 'keyWindow', outcome: 'fail', reason, detail: windows.join('; ') } : issuerOf.size > 0 ? { check: 'keyWindow', outcome: 'pass' } : { check: 'keyWindow', outcome: 'skipped' }
  return { checks: [registered, window], issuerOf }
}

/**
 * Verifies the OFD file at `path`: read whole only when it is at most `maxBytes` (else
 * DOCUMENT_TOO_LARGE from its size alone), an unreadable package is its OfdError code.
 */
export async function verifyDocumentFile(path: string, ctx: { trust: OfdTrust; at: Date; maxBytes: number }): Promise<DocumentOutcome> {
  const { bytes, size } = await readBounded(path, ctx.maxBytes)
  if (!bytes) {
    const tooLarge: DocumentCheck = { check: 'format', outcome: 'fail', reason: 'DOCUMENT_TOO_LARGE', detail: `${size} bytes, more than ${ctx.maxBytes} (MAX_DOCUMENT_BYTES); not read` }
    return { checks: documentChecks([tooLarge]), document: { size }, issuers: [] }
  }
  const sm3 = createHash('sm3').update(bytes).digest('hex')
  let ofd
  try {
    ofd = await verifyOfd(bytes, { anchors: ctx.trust.anchors, intermediates: ctx.trust.intermediates })
  } catch (err) {
    if (!(err instanceof OfdError)) throw err
    return { checks: documentChecks([{ check: 'format', outcome: 'fail', reason: err.code, detail: maskIdNumbersIn(err.message) }]), document: { sm3, size }, issuers: [] }
  }
  const signer = await signerChecks(ofd.signatures, ctx.trust, ctx.at)
  // Details name package paths, times and CA names; masked all the same, in case a path holds an ID number.
  const masked = <T extends { detail?: string }>(c: T): T => (c.detail === undefined ? c : { ...c, detail: maskIdNumbersIn(c.detail) })
  const format: DocumentCheck = { check: 'format', outcome: 'pass', detail: `an OFD package of ${ofd.files.size} file(s)` }
  const signatures = ofd.signatures.map((s): ReportedSignature => {
    const { signerCertificate: _cert, sealName: _name, ...rest } = s
    const issuer = signer.issuerOf.get(s)
    return { ...rest, checks: rest.checks.map(masked), ...(issuer ? { issuer } : {}) }
  })
  return {
    checks: documentChecks([format, ...ofd.checks.map(masked), ...signer.checks]),
    document: { sm3, size, code: ofd.code, resultText: ofd.resultText, signatures, uncovered: ofd.uncovered.map(maskIdNumbersIn) },
    issuers: [...new Set(signer.issuerOf.values())],
    bytes,
  }
}

/** The stable codes of the failing checks, each once, in check order (the two chains often fail alike). */
export const documentReasons = (checks: readonly DocumentCheck[]) => [...new Set(checks.filter((c) => c.outcome === 'fail').map((c) => c.reason ?? c.check))]

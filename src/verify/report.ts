import type { FileVerdict } from './batch.js'

export interface BundleInfo {
  verified: boolean
  kid?: string | undefined
  /** When the bundle was made: it knows of no key revoked after this. */
  issuedAt: string
}

export interface VerifySummary {
  total: number
  valid: number
  invalid: number
  seconds: number
}

export function summarise(verdicts: FileVerdict[], seconds: number): VerifySummary {
  const valid = verdicts.filter((v) => v.verdict === 'VALID').length
  return { total: verdicts.length, valid, invalid: verdicts.length - valid, seconds: Math.round(seconds * 100) / 100 }
}

/** What the bundle and the instant mean for the verdicts, said before them. */
export function describeBasis(bundle: BundleInfo, at: Date, atGiven: boolean, live: boolean): string {
  const lines = [
    bundle.verified
      ? `Trust bundle made ${bundle.issuedAt}; its signature verified with the JWKS (kid ${bundle.kid ?? '?'}).`
      : `WARNING: the trust bundle's signature was NOT verified (no --jwks): anyone could have written it. Trust bundle made ${bundle.issuedAt}.`,
    atGiven
      ? `Signing keys and their certificates judged at ${at.toISOString()} (--at).`
      : `Signing keys and their certificates judged now, ${at.toISOString()}: offline there is no time of receipt, so a key retired or compromised by now fails (see --at and --url).`,
  ]
  if (live) lines.push('Live status from the service (--url) added to each certificate.')
  return `${lines.join('\n')}\n`
}

/** An OFD file's own part of its line: verifyFile's code and the file's SM3 (or its size, when it was not read). */
function documentNote(v: FileVerdict): string {
  const d = v.document
  if (!d) return ''
  const code = d.code === undefined ? 'unreadable' : `${d.code}: ${d.resultText ?? ''}`
  return `  [OFD ${code}; ${d.sm3 ? `sm3 ${d.sm3}` : `${d.size} bytes`}]`
}

/**
 * One line per certificate or OFD file: where it is, the verdict, its identifier (for an OFD
 * file: the issuer codes of its seals, or the identifier the service named), the reasons.
 * Never its content: no holder, no metadata, no seal name.
 */
export function describeVerdicts(verdicts: FileVerdict[], summary: VerifySummary): string {
  const places = verdicts.map((v) => `${v.file}:${v.line}`)
  const width = Math.max(0, ...places.map((p) => p.length))
  const lines = verdicts.map((v, i) => {
    const live = v.live ? `  [live ${v.live.result}: ${v.live.resultText}]` : ''
    const reasons = v.reasons.length > 0 ? `  ${v.reasons.join(', ')}` : ''
    // Named, never silent: a warning does not change the verdict, but a person must see it.
    const warnings = (v.warnings ?? []).map((w) => `  WARNING ${w.code}: ${w.message}`).join('')
    const name = v.id ?? (v.issuers && v.issuers.length > 0 ? `issuer:${v.issuers.join(',')}` : '-')
    return `${places[i]!.padEnd(width)}  ${v.verdict.padEnd(7)}  ${name}${reasons}${warnings}${documentNote(v)}${live}`
  })
  lines.push(`Verified ${summary.total} certificate(s) in ${summary.seconds.toFixed(1)} s: ${summary.valid} valid, ${summary.invalid} invalid.`)
  // Not masked: an identifier's all-digit issuer code would look like an ID number, and nothing
  // here comes from the payload but the identifier and stable codes.
  return `${lines.join('\n')}\n`
}

export function verdictsJson(bundle: BundleInfo, at: Date, verdicts: FileVerdict[], summary: VerifySummary) {
  return { bundle, at: at.toISOString(), summary, results: verdicts }
}

import type { FileVerdict } from './batch.js'

export interface BundleInfo {
  verified: boolean
  kid?: string | undefined
  /** When the bundle was made: it knows of no key revoked and no status changed after this. */
  issuedAt: string
  /** The status list's time (the bundle's iat) and how many it lists; absent when the bundle has none. */
  status?: { asOf: string; listed: number } | undefined
  /** --no-status: the bundle's list, if any, was set aside. */
  statusIgnored?: boolean
}

export interface VerifySummary {
  total: number
  valid: number
  invalid: number
  /** VALID ones whose status nothing said: never counted as plainly valid (exit 3). */
  statusNotChecked: number
  seconds: number
}

export function summarise(verdicts: FileVerdict[], seconds: number): VerifySummary {
  const valid = verdicts.filter((v) => v.verdict === 'VALID')
  const statusNotChecked = valid.filter((v) => !v.statusChecked).length
  return { total: verdicts.length, valid: valid.length, invalid: verdicts.length - valid.length, statusNotChecked, seconds: Math.round(seconds * 100) / 100 }
}

/** What the bundle says about status, said before the verdicts. */
function statusBasis(bundle: BundleInfo, live: boolean): string {
  const liveWins = live ? ' The live status (--url) wins over it.' : ''
  if (bundle.status && !bundle.statusIgnored) {
    return `Status as of ${bundle.status.asOf} (the bundle's time): it lists ${bundle.status.listed} certificate(s) revoked, suspended or superseded; a change made since is not in it.${liveWins}`
  }
  const why = bundle.statusIgnored ? '--no-status set the bundle\'s status list aside' : 'this bundle carries no status list (made by an older service)'
  if (live) return `Offline status not checked: ${why}; the live status (--url) is the only status.`
  return `WARNING: status not checked: ${why}, so a revoked, suspended or superseded certificate cannot be told from a valid one. Fetch a new bundle or add --url. Exit code 3 when nothing else fails.`
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
  lines.push(statusBasis(bundle, live))
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

/** Where the status stood: as of when, and, when it failed, what and since when. Never absent: no bare VALID. */
function statusNote(v: FileVerdict): string {
  if (!v.statusChecked) return '  [status not checked]'
  const failed = (v.checks as { check: string; outcome: string; reason?: string }[]).find((c) => c.check === 'status' && c.outcome === 'fail')
  const what = failed ? `: ${(failed.reason ?? 'not valid').toLowerCase()}${v.statusSince ? ` since ${v.statusSince}` : ''}` : ''
  return `  [status as of ${v.statusAsOf}${v.statusSource === 'live' ? ' (live)' : ''}${what}]`
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
    return `${places[i]!.padEnd(width)}  ${v.verdict.padEnd(7)}  ${name}${reasons}${warnings}${documentNote(v)}${live}${statusNote(v)}`
  })
  const unchecked = summary.statusNotChecked > 0 ? ` Status not checked for ${summary.statusNotChecked} of the valid.` : ''
  lines.push(`Verified ${summary.total} certificate(s) in ${summary.seconds.toFixed(1)} s: ${summary.valid} valid, ${summary.invalid} invalid.${unchecked}`)
  // Not masked: an identifier's all-digit issuer code would look like an ID number, and nothing
  // here comes from the payload but the identifier and stable codes.
  return `${lines.join('\n')}\n`
}

/** statusChecked: whether every result's status was said; statusAsOf: the bundle's list's time, when it was used. */
export function verdictsJson(bundle: BundleInfo, at: Date, verdicts: FileVerdict[], summary: VerifySummary) {
  const statusAsOf = bundle.status && !bundle.statusIgnored ? bundle.status.asOf : undefined
  return { bundle, at: at.toISOString(), statusChecked: verdicts.every((v) => v.statusChecked), ...(statusAsOf ? { statusAsOf } : {}), summary, results: verdicts }
}

// The checks a verification reports, by stable name. Every answer lists all of them in this
// order, so a client can read `checks` positionally or by name; what was not examined is 'skipped'.

export const CHECK_NAMES = [
  'format', // a compact JWS with our typ, a pinned alg and a payload of the certificate shape
  'signature', // the signature verifies with the key the header names
  'registeredKey', // that key is registered to the certificate's issuer, for this alg
  'keyWindow', // the key was active at the relevant time (not compromised, retired or expired by then)
  'trustChain', // the key's certificate chained to a configured anchor at that time
  'issuerAllowed', // the catalogue and the issuer's registration allow this issuer for this type
  'identifier', // a valid GB/T 36904 identifier naming the payload's type and issuer
  'holderId', // the holder ID is valid for its type and the type is issued to such holders
  'validityPeriod', // today (China Standard Time) lies within validFrom..validUntil
  'status', // the stored status is valid
  'matchesRecord', // the presented JWS (SHA-256) or printed fields equal a stored certificate
] as const

export type CheckName = (typeof CHECK_NAMES)[number]
export type CheckOutcome = 'pass' | 'fail' | 'skipped'

/** One check: `reason` is a stable code clients switch on, `detail` is for people (never personal data). */
export interface CheckResult {
  check: CheckName
  outcome: CheckOutcome
  reason?: string
  detail?: string
  /** A pass that must be shown, never silently: e.g. an identifier taken in under an operator's exception. */
  warning?: { code: WarningCode; message: string }
}

/** Stable codes of the warnings a verification can carry; they never change the result code. */
export const WARNING_CODES = ['CERT_ID_CHECK_CHAR_EXCEPTION'] as const
export type WarningCode = (typeof WARNING_CODES)[number]

/** A named warning, as answered: which check raised it, its code, a sentence for people. */
export interface VerifyWarning {
  code: WarningCode
  check: CheckName
  message: string
}

export const pass = (check: CheckName, detail?: string): CheckResult => ({ check, outcome: 'pass', ...(detail ? { detail } : {}) })
export const fail = (check: CheckName, reason: string, detail: string): CheckResult => ({ check, outcome: 'fail', reason, detail })
export const passWithWarning = (check: CheckName, code: WarningCode, message: string): CheckResult => ({ check, outcome: 'pass', detail: message, warning: { code, message } })
export const skipped = (check: CheckName, detail?: string): CheckResult => ({ check, outcome: 'skipped', ...(detail ? { detail } : {}) })

/** All checks in their fixed order; any not given is 'skipped'. A later entry for a name wins. */
export function checkList(results: readonly CheckResult[]): CheckResult[] {
  const byName = new Map(results.map((r) => [r.check, r]))
  return CHECK_NAMES.map((name) => byName.get(name) ?? skipped(name))
}

export function failed(checks: readonly CheckResult[], ...names: CheckName[]): CheckResult | undefined {
  return checks.find((c) => c.outcome === 'fail' && (names.length === 0 || names.includes(c.check)))
}

/** The stable reason codes of every failing check, in check order. */
export function failureReasons(checks: readonly CheckResult[]): string[] {
  return checks.filter((c) => c.outcome === 'fail').map((c) => c.reason ?? c.check)
}

/** The warnings of the checks that passed with one, in check order. */
export function warningsOf(checks: readonly CheckResult[]): VerifyWarning[] {
  return checks.flatMap((c) => (c.outcome === 'pass' && c.warning ? [{ code: c.warning.code, check: c.check, message: c.warning.message }] : []))
}

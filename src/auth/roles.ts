/** The roles a caller's token may carry (DESIGN.md §1). */
export const ROLES = ['issuer', 'reader', 'auditor', 'admin', 'holder'] as const
export type Role = (typeof ROLES)[number]

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

import { createHmac } from 'node:crypto'
import type { DataProtectionKeys } from '../crypto/dataProtection.js'
import { maskIdNumbersIn } from '../ids/index.js'

// Recognisable in a dump and in a receipt: `h:` and 43 base64url characters.
const PREFIX = 'h:'
// Separates this use of the blind-index key from the holder index (`<idType>:<id>`), so a subject
// hash never equals, and never helps to guess, a holder's blind index.
const DOMAIN = 'zhengzhao actor subject\0'

/**
 * The subject as the service stores and signs it. A holder's token subject is the holder's own
 * identifier (often the ID number itself) and any subject that holds an ID-number-shaped run is
 * personal too: those become a keyed hash, equal for equal subjects and useless without the key,
 * so an auditor can still tell the same holder's actions apart from others'. A civil servant's
 * subject (`clerk-7`) stays readable: auditors need to name the member of staff who acted.
 */
export function recordedSubject(keys: DataProtectionKeys, sub: string, isHolder: boolean): string {
  if (!isHolder && maskIdNumbersIn(sub) === sub) return sub
  return PREFIX + createHmac('sha256', keys.blindIndexKey).update(DOMAIN + sub).digest('base64url')
}

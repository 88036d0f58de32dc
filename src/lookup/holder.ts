import { holderIndex, type DataProtectionKeys } from '../crypto/dataProtection.js'
import { AppError } from '../errors.js'
import { isValidCreditCode, parseIdNumber } from '../ids/index.js'

/**
 * The blind index of a holder named in a request, after validating the ID for its type. The error
 * never repeats the ID.
 */
export function holderRefFor(keys: DataProtectionKeys, holder: { idType: string; id: string }, exceptions: ReadonlySet<string>): string {
  if (holder.idType === '111') {
    const parsed = parseIdNumber(holder.id)
    if (!parsed.ok) throw new AppError('INVALID_HOLDER_ID', `Not a valid citizen ID number (${parsed.problem})`)
    return holderIndex(keys, '111', parsed.value)
  }
  if (holder.idType === '001') {
    if (!isValidCreditCode(holder.id, exceptions)) throw new AppError('INVALID_HOLDER_ID', 'Not a valid unified social credit code')
    return holderIndex(keys, '001', holder.id)
  }
  throw new AppError('INVALID_HOLDER_ID', `Holder ID type ${holder.idType} is not known`)
}

import type { Db } from '../db/client.js'
import { isUniqueViolation } from '../db/errors.js'
import { EXAMPLE_CATALOGUE } from './catalogue.js'
import { createTypeRepository } from './repository.js'

/**
 * Loads the example catalogue. Types that exist already are left as they are (an operator may
 * have edited them), so seeding again is harmless, and so is seeding from two processes at once:
 * the one that loses the race for a type finds it created and counts it unchanged.
 */
export async function seedExampleCatalogue(db: Db): Promise<{ created: number; unchanged: number }> {
  const types = createTypeRepository(db)
  let created = 0
  let unchanged = 0
  for (const { typeCode, definition } of EXAMPLE_CATALOGUE) {
    if (await types.get(typeCode)) {
      unchanged++
      continue
    }
    try {
      await types.put(typeCode, definition, { sub: 'zhengzhao-seed', org: null, requestId: null })
      created++
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      unchanged++
    }
  }
  return { created, unchanged }
}

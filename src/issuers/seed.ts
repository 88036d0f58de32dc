import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { X509Certificate } from 'node:crypto'
import { EXAMPLE_KEYS_DIR } from '../config.js'
import { checkSigningCertificate } from '../crypto/x509.js'
import type { Db } from '../db/client.js'
import { isUniqueViolation } from '../db/errors.js'
import { EXAMPLE_CATALOGUE, EXAMPLE_ISSUERS } from '../types/catalogue.js'
import { createIssuerRepository } from './repository.js'

/**
 * Registers the example issuers with their development certificates from keys.example/, so a
 * fresh development start can take pushes signed with `zhengzhao sign --p12 keys.example/…`.
 * Issuers that exist are left alone, also when another process created them a moment ago;
 * certificates that do not chain to the configured anchors (another key set) are skipped.
 */
export async function seedExampleIssuers(db: Db, anchors: readonly X509Certificate[]): Promise<{ created: number; unchanged: number; skipped: number }> {
  const issuers = createIssuerRepository(db)
  const counts = { created: 0, unchanged: 0, skipped: 0 }
  for (const { code, name } of EXAMPLE_ISSUERS) {
    const file = join(EXAMPLE_KEYS_DIR, `issuer-${code}.cert.pem`)
    if (await issuers.get(code)) {
      counts.unchanged++
      continue
    }
    const checked = existsSync(file) ? await checkSigningCertificate(readFileSync(file, 'utf8'), anchors) : undefined
    if (!checked?.ok) {
      counts.skipped++
      continue
    }
    const typeCodes = EXAMPLE_CATALOGUE.filter((c) => c.definition.issuers.includes(code)).map((c) => c.typeCode)
    try {
      await issuers.put(code, { name, typeCodes }, [checked.value], { sub: 'zhengzhao-seed', org: null, requestId: null })
      counts.created++
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      counts.unchanged++
    }
  }
  return counts
}

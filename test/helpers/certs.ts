import { createPrivateKey, randomBytes, randomInt, type KeyObject } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompactSign } from 'jose'
import type { FastifyInstance } from 'fastify'
import { formatCertId } from '../../src/ids/index.js'
import type { Database } from '../../src/db/client.js'
import type { CertificatePayload } from '../../src/certificates/schemas.js'
import { createTestPki, type IssuedCert, type TestPki } from './pki.js'
import { bearer, buildTestApp, randomCreditCode, randomTypeCode } from './app.js'
import { opensslSm2Jws } from './sm2.js'
import { openOwnDatabase, openTestDatabase } from './database.js'

// Synthetic holders with valid check digits.
export const HOLDER_ID = '11010519491231002X'
export const HOLDER_NAME = '李小明'
export const OTHER_HOLDER_ID = '110101200001010010'

export const DATA_SCHEMA = {
  type: 'object',
  required: ['level'],
  additionalProperties: false,
  properties: { level: { type: 'integer', minimum: 1 }, note: { type: 'string' } },
}

// Parsing the PEM for every signature cost 1.2 s of one file's CPU (thousands of signatures with
// one key); an issuer's system keeps its key parsed too.
const parsedKeys = new Map<string, KeyObject>()
function privateKeyOf(pem: string): KeyObject {
  let key = parsedKeys.get(pem)
  if (!key) parsedKeys.set(pem, (key = createPrivateKey(pem)))
  return key
}

/** Signs exactly as an issuer's system would: compact JWS over the JSON payload. */
export async function signJws(payload: unknown, privateKeyPem: string, header: Record<string, unknown>): Promise<string> {
  // SM2: openssl signs (the reference), so tests never check our SM2 code against itself.
  if (header.alg === 'SM2') return opensslSm2Jws(payload, header, privateKeyPem)
  return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ typ: 'zhengzhao-cert+jws', ...header } as never).sign(privateKeyOf(privateKeyPem))
}

export function randomSerial(): string {
  return `T${randomBytes(6).toString('hex').toUpperCase()}`
}

export function payloadFor(o: { typeCode: string; issuerCode: string; serial?: string; version?: number; holderId?: string; idType?: string }): CertificatePayload {
  const serial = o.serial ?? randomSerial()
  return {
    id: formatCertId({ typeCode: o.typeCode, issuerCode: o.issuerCode, serial, version: o.version ?? 1 }),
    typeCode: o.typeCode,
    name: '测试许可证',
    number: serial,
    holder: { idType: o.idType ?? '111', id: o.holderId ?? HOLDER_ID, name: HOLDER_NAME },
    issuer: { code: o.issuerCode, name: '测试发证机关' },
    issuedOn: '2025-05-22',
    validFrom: '2025-05-22',
    validUntil: '2035-05-21',
    data: { level: 2 },
  }
}

/** A fresh data-protection key file, so tests never depend on keys.example/. */
export function writeDataProtectionKeys(dir: string): string {
  const file = join(dir, 'data-protection.json')
  const k = () => randomBytes(32).toString('base64')
  writeFileSync(file, JSON.stringify({ blindIndexKey: k(), encryptionKeys: [{ id: 'test-1', key: k() }], activeKeyId: 'test-1' }))
  return file
}

export interface IssuanceFixture {
  app: FastifyInstance
  /** The database the app writes to, for tests that read raw tables. */
  database: Database
  /** The app's environment beyond testEnv (its trust anchors and data-protection keys): a second app on the same database. */
  env: Record<string, string>
  pki: TestPki
  typeCode: string
  issuerCode: string
  key: IssuedCert
  issuerAuth: { authorization: string }
  adminAuth: { authorization: string }
  sign(payload: unknown, header?: Record<string, unknown>, key?: IssuedCert): Promise<string>
  payload(o?: Partial<Parameters<typeof payloadFor>[0]>): CertificatePayload
}

/**
 * An app with a test PKI as trust anchors, one type and one issuer registered with a P-256 key
 * (`sm2`: an SM2 root, an SM2 intermediate and an SM2 issuer key, all made by openssl).
 */
export async function issuanceFixture(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}, opts: { embedded?: boolean; own?: boolean; sm2?: boolean } = {}): Promise<IssuanceFixture> {
  const pki = createTestPki(opts.sm2 ? { rootKeyType: 'sm2' } : {})
  const dir = mkdtempSync(join(tmpdir(), 'zz-issuance-'))
  writeFileSync(join(dir, 'anchors.pem'), pki.anchorsPem)
  // `embedded`: a private PGlite even when the suite runs on a shared PostgreSQL (for tests that break the database on purpose).
  // `own`: a database no other test writes to, on the suite's server too (openOwnDatabase).
  const url = opts.embedded ? undefined : process.env.DATABASE_URL
  const database = opts.own ? await openOwnDatabase({ url }) : await openTestDatabase({ url })
  t.teardown(() => database.close())
  const appEnv = { TRUST_ANCHORS: join(dir, 'anchors.pem'), DATA_PROTECTION_KEYS: writeDataProtectionKeys(dir), ...env }
  const app = await buildTestApp(t, appEnv, { database })
  const typeCode = randomTypeCode()
  const issuerCode = randomCreditCode()
  const adminAuth = await bearer(['admin'])
  const key = opts.sm2 ? pki.issue({ keyType: 'sm2', viaIntermediate: true }) : pki.issue({ keyType: 'p256' })
  const type = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: adminAuth, payload: { name: '测试许可证', holderIdTypes: ['111'], issuers: [issuerCode], dataSchema: DATA_SCHEMA } })
  if (type.statusCode !== 201) throw new Error(`type: ${type.body}`)
  const issuer = await app.inject({ method: 'PUT', url: `/v1/issuers/${issuerCode}`, headers: adminAuth, payload: { name: '测试发证机关', typeCodes: [typeCode], certificates: [key.chainPem] } })
  if (issuer.statusCode !== 201) throw new Error(`issuer: ${issuer.body}`)
  return {
    app,
    database,
    env: appEnv,
    pki,
    typeCode,
    issuerCode,
    key,
    adminAuth,
    issuerAuth: await bearer(['issuer'], { org: issuerCode }),
    sign: (payload, header = {}, k = key) => signJws(payload, k.privateKeyPem, { alg: k.alg, kid: k.kid, ...header }),
    payload: (o = {}) => payloadFor({ typeCode, issuerCode, ...o }),
  }
}

export { randomInt }

import { randomInt } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { signDevToken, readExampleSigningKey, type DevTokenOptions } from '../../src/auth/devTokens.js'
import { creditCodeCheckChar } from '../../src/ids/index.js'
import type { Role } from '../../src/auth/roles.js'
import { openTestDatabase } from './database.js'

/**
 * The environment every test app starts from; DATABASE_URL switches the whole suite to PostgreSQL.
 * SM2 signatures and sealed OFD files are checked on the calling thread (SM2_THREADS=0,
 * OFD_THREADS=0) unless a test asks for threads: each app starts its own workers, and each worker
 * thread loads the TypeScript loader and the verifier's modules again, 1.5 to 2 s of CPU, which
 * the suite paid about a hundred times. What the threads answer is tested against the calling
 * thread where they are the subject: test/crypto/sm2Pool, test/certificates/sm2Batch (both
 * settings through the app), test/ofd/pool (both settings through POST /v1/verify).
 */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: 'memory://',
    SEED_EXAMPLES: 'false',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '0',
    SM2_THREADS: '0',
    OFD_THREADS: '0',
    DATABASE_URL: process.env.DATABASE_URL,
    ...overrides,
  }
}

export function testConfig(overrides: Record<string, string | undefined> = {}): Promise<Config> {
  return loadConfig(testEnv(overrides))
}

interface TapLike {
  teardown(fn: () => unknown): void
}

/** Builds the real app on a fresh in-memory database (or DATABASE_URL), closed when the test ends. */
export async function buildTestApp(t: TapLike, env: Record<string, string | undefined> = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await unreadyTestApp(t, env, deps)
  await app.ready()
  return app
}

/** buildTestApp's app before `ready()`: for a test that adds a route of its own first. */
export async function unreadyTestApp(t: TapLike, env: Record<string, string | undefined> = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const config = await testConfig(env)
  // An in-memory database starts from the migrated snapshot (the app still runs its migrations,
  // finding them applied); a folder or a server is opened by the app as in production.
  const own = !deps.database && !config.database.url && config.database.dataDir === 'memory://' ? await openTestDatabase() : undefined
  const app = await buildApp(config, own ? { ...deps, database: own } : deps).catch(async (err: unknown) => {
    await own?.close()
    throw err
  })
  t.teardown(async () => {
    await app.close()
    await own?.close()
  })
  return app
}

/** Collects log lines written by the app. */
export function logCapture(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString())
      cb()
    },
  })
  return { stream, text: () => chunks.join('') }
}

export const ADMIN_ORG = '11100000000013338W'
export const READER_ORG = '9144030071526726XG'

const signingKey = readExampleSigningKey()

/** A token from the development identity provider, valid for an hour unless told otherwise. */
export function tokenFor(roles: Role[], opts: Partial<DevTokenOptions> = {}): Promise<string> {
  return signDevToken(signingKey, { roles, org: ADMIN_ORG, sub: `test-${roles.join('-')}`, ...opts })
}

export async function bearer(roles: Role[], opts: Partial<DevTokenOptions> = {}): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(roles, opts)}` }
}

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'

/** A random valid credit code, so test files sharing one PostgreSQL never collide. */
export function randomCreditCode(): string {
  let body = '91'
  while (body.length < 17) body += ALPHABET[randomInt(ALPHABET.length)]
  return body + creditCodeCheckChar(body)
}

export function randomTypeCode(): string {
  return randomCreditCode() + String(randomInt(1000)).padStart(3, '0')
}

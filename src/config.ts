import { readFileSync, readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { X509Certificate } from 'node:crypto'
import { parseDataProtectionKeys, type DataProtectionKeys } from './crypto/dataProtection.js'
import { parseVerificationKeys, TOKEN_ALGORITHMS, type TokenAlgorithm, type VerificationKey } from './crypto/keys.js'
import { parseTrustAnchors } from './crypto/x509.js'
import { parseServiceKeys, type ServiceKeys } from './crypto/serviceKeys.js'
import { isValidCreditCode } from './ids/creditCode.js'

/** The development key set shipped in the repository. Never for production. */
export const EXAMPLE_KEYS_DIR = fileURLToPath(new URL('../keys.example/', import.meta.url))

export const DEV_ISSUER = 'zhengzhao-dev-idp'
export const DEV_AUDIENCE = 'zhengzhao'

export interface Config {
  env: 'development' | 'production' | 'test'
  host: string
  port: number
  /** poolSize: connections per process on PostgreSQL (DB_POOL_SIZE; default defaultPoolSize(workers)). */
  database: { url: string | undefined; dataDir: string; poolSize: number; timeouts: DatabaseTimeouts }
  logLevel: string
  bodyLimit: number
  /** Longest a client may take to send a whole request, headers and body, in ms (0: no limit). */
  requestTimeoutMs: number
  rateLimit: { max: number; windowMs: number }
  trustProxy: boolean
  seedExamples: boolean
  /** Early-pilot credit codes an operator allows by name although their check character fails. */
  creditCodeExceptions: ReadonlySet<string>
  /** Issuer codes whose identifiers are taken in although their check character is not MOD 37,36's (only that fault). */
  certIdCheckExceptions: ReadonlySet<string>
  auth: { issuer: string; audience: string; algorithms: TokenAlgorithm[]; keys: VerificationKey[]; keyFiles: string[] }
  /** CA certificates issuers' signing certificates must chain to. */
  trustAnchors: X509Certificate[]
  /** Blind-index and encryption keys for personal data at rest. */
  dataProtection: DataProtectionKeys
  /** The service's own signing keys (receipts, trust bundle); the first signs. */
  serviceKeys: ServiceKeys
  /** The Merkle log's origin: the first line of its checkpoints and the key name of their signatures. */
  logOrigin: string
  /** Largest certificate JWS accepted, in bytes. */
  maxCertificateBytes: number
  /** Largest sealed OFD file a certificate may carry, in bytes. */
  maxDocumentBytes: number
  /** Worker threads verifying SM2 signatures (0: on the main thread); no more than the cores. */
  sm2Threads: number
  /** Worker processes (node:cluster) on PostgreSQL; 1 on embedded PGlite, which one process opens. */
  workers: number
  /** Worker threads verifying sealed OFD files (0: on the main thread). */
  ofdThreads: number
  /** Where people reach the service: verification QR codes encode PUBLIC_BASE_URL/v/{code}. */
  publicBaseUrl: string
  /** How long a holder's presentation (亮证, PUBLIC_BASE_URL/s/{token}) can be used, in seconds: at most 300. */
  presentationTtlSeconds: number
  /** True when any configured key is one of keys.example/: the service says so loudly. */
  usingExampleKeys: boolean
}

/** Bounds on every PostgreSQL connection, so an outage answers 503 instead of hanging. */
export interface DatabaseTimeouts {
  connectMs: number
  statementMs: number
  lockMs: number
}

/** Every problem with the environment, reported at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

type Env = Record<string, string | undefined>

/** Validates the environment once and returns a typed Config, or throws ConfigError listing every problem. */
// A signed note's key name is one token: no spaces, no control characters, no '+' (C2SP signed-note).
function logOrigin(value: string | undefined, problems: string[]): string {
  const origin = value ?? 'zhengzhao.localhost/log'
  if (!/^[\x21-\x2a\x2c-\x7e]{1,200}$/.test(origin)) problems.push(`LOG_ORIGIN: "${origin.slice(0, 40)}" must be 1 to 200 printable ASCII characters without spaces or '+' (e.g. zhengzhao.example.gov.cn/log)`)
  return origin
}

// Printed on paper in QR codes: an absolute http(s) URL with no query or fragment, kept without a trailing slash.
function publicBaseUrl(value: string | undefined, problems: string[]): string {
  const raw = value || 'http://localhost:3000'
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    // reported below
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username || url.password) {
    problems.push(`PUBLIC_BASE_URL must be an absolute http or https URL without query, fragment or credentials, not "${raw.slice(0, 80)}"`)
    return raw
  }
  return url.href.replace(/\/+$/, '')
}

/**
 * Connections per worker process when DB_POOL_SIZE is unset: the workers share 80 of
 * PostgreSQL's default 100 (max_connections, 3 of them reserved for superusers), so a machine of
 * many cores does not open more than the server accepts (16 workers of 10 would ask for 160 and
 * see "too many clients" under load). At most 10 each, as before, and at least 2.
 */
export const POOL_BUDGET = 80
export function defaultPoolSize(workers: number): number {
  return Math.max(2, Math.min(10, Math.floor(POOL_BUDGET / workers)))
}

export async function loadConfig(env: Env = process.env, cwd = process.cwd()): Promise<Config> {
  const problems: string[] = []
  const nodeEnv = env.NODE_ENV ?? 'development'
  if (!['development', 'production', 'test'].includes(nodeEnv)) problems.push(`NODE_ENV must be development, production or test, not "${nodeEnv}"`)
  const production = nodeEnv === 'production'
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`${name} must be an integer from ${min} to ${max}, not "${raw}"`)
    return n
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (['true', '1', 'yes'].includes(raw)) return true
    if (['false', '0', 'no'].includes(raw)) return false
    problems.push(`${name} must be true or false, not "${raw}"`)
    return fallback
  }
  const required = (name: string, devDefault: string): string => {
    const raw = env[name]
    if (raw) return raw
    if (production) problems.push(`${name} is required when NODE_ENV=production`)
    return devDefault
  }

  const url = env.DATABASE_URL || undefined
  if (url && !/^postgres(ql)?:\/\//.test(url)) problems.push('DATABASE_URL must start with postgres:// or postgresql://')
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`LOG_LEVEL must be a pino level, not "${logLevel}"`)

  const algorithms = (env.AUTH_ALGORITHMS ?? 'ES256,EdDSA,RS256').split(',').map((a) => a.trim()).filter(Boolean)
  for (const a of algorithms) {
    if (!(TOKEN_ALGORITHMS as readonly string[]).includes(a)) problems.push(`AUTH_ALGORITHMS: "${a}" is not one of ${TOKEN_ALGORITHMS.join(', ')}`)
  }
  if (algorithms.length === 0) problems.push('AUTH_ALGORITHMS must name at least one algorithm')

  const exceptions = new Set((env.CREDIT_CODE_EXCEPTIONS ?? '').split(',').map((c) => c.trim()).filter(Boolean))
  for (const c of exceptions) {
    if (!/^[0-9A-HJ-NP-RTUWXY]{18}$/.test(c)) problems.push(`CREDIT_CODE_EXCEPTIONS: "${c}" is not 18 characters of the credit-code alphabet`)
    else if (isValidCreditCode(c)) problems.push(`CREDIT_CODE_EXCEPTIONS: "${c}" is valid already; list only codes that fail the check`)
  }
  // Some provinces' systems compute the identifier's check character otherwise: issuers are named one by one, no blanket switch.
  const certIdExceptions = new Set((env.CERT_ID_CHECK_EXCEPTIONS ?? '').split(',').map((c) => c.trim()).filter(Boolean))
  for (const c of certIdExceptions) {
    if (!isValidCreditCode(c, exceptions)) problems.push(`CERT_ID_CHECK_EXCEPTIONS: "${c}" is not a valid unified social credit code (an issuer's ZZBFJGDM)`)
  }

  const keyFiles = required('AUTH_KEYS', join(EXAMPLE_KEYS_DIR, 'idp.jwks.json')).split(',').map((f) => resolve(cwd, f.trim())).filter(Boolean)
  const keys: VerificationKey[] = []
  for (const file of keyFiles) {
    try {
      keys.push(...(await parseVerificationKeys(readFileSync(file, 'utf8'))))
    } catch (err) {
      problems.push(`AUTH_KEYS: ${file}: ${(err as Error).message}`)
    }
  }
  const usable = keys.filter((k) => k.algorithms.some((a) => algorithms.includes(a)))
  if (keys.length > 0 && usable.length === 0) problems.push('AUTH_KEYS: no key can verify any algorithm in AUTH_ALGORITHMS')

  const exampleKids = await exampleKeyIds()
  const exampleTokenKeys = keys.some((k) => exampleKids.has(k.thumbprint))
  if (production && exampleTokenKeys) problems.push('AUTH_KEYS uses the development keys from keys.example/: refusing to start with NODE_ENV=production')

  const anchorsFile = resolve(cwd, required('TRUST_ANCHORS', join(EXAMPLE_KEYS_DIR, 'trust-anchors.pem')))
  let trustAnchors: X509Certificate[] = []
  try {
    trustAnchors = parseTrustAnchors(readFileSync(anchorsFile, 'utf8'))
  } catch (err) {
    problems.push(`TRUST_ANCHORS: ${anchorsFile}: ${(err as Error).message}`)
  }
  const exampleAnchors = sameFile(anchorsFile, 'trust-anchors.pem', (t) => parseTrustAnchors(t).map((c) => c.fingerprint256).join())
  if (production && exampleAnchors) problems.push('TRUST_ANCHORS is the development CA from keys.example/: refusing to start with NODE_ENV=production')

  const protectionFile = resolve(cwd, required('DATA_PROTECTION_KEYS', join(EXAMPLE_KEYS_DIR, 'data-protection.json')))
  let dataProtection: DataProtectionKeys | undefined
  try {
    dataProtection = parseDataProtectionKeys(readFileSync(protectionFile, 'utf8'))
  } catch (err) {
    problems.push(`DATA_PROTECTION_KEYS: ${protectionFile}: ${(err as Error).message}`)
  }
  const exampleProtection = sameFile(protectionFile, 'data-protection.json', (t) => parseDataProtectionKeys(t).blindIndexKey.toString('base64'))
  if (production && exampleProtection) problems.push('DATA_PROTECTION_KEYS are the development keys from keys.example/: refusing to start with NODE_ENV=production')
  const serviceKeyFiles = required('SERVICE_KEYS', join(EXAMPLE_KEYS_DIR, 'service-ed25519.private.pem')).split(',').map((f) => resolve(cwd, f.trim())).filter(Boolean)
  let serviceKeys: ServiceKeys | undefined
  try {
    serviceKeys = await parseServiceKeys(serviceKeyFiles.map((f) => readFileSync(f, 'utf8')))
  } catch (err) {
    problems.push(`SERVICE_KEYS: ${(err as Error).message}`)
  }
  const exampleService = serviceKeyFiles.some((f) => sameFile(f, 'service-ed25519.private.pem', (t) => t.trim()))
  if (production && exampleService) problems.push('SERVICE_KEYS uses the development key from keys.example/: refusing to start with NODE_ENV=production')
  const usingExampleKeys = exampleTokenKeys || exampleAnchors || exampleProtection || exampleService

  const workers = int('WORKERS', url ? availableParallelism() : 1, 1, 256)
  const config: Config = {
    env: nodeEnv as Config['env'],
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 3000, 0, 65535),
    database: {
      url,
      dataDir: resolve(cwd, env.DATA_DIR ?? './data'),
      poolSize: int('DB_POOL_SIZE', defaultPoolSize(workers), 1, 1000),
      timeouts: {
        connectMs: int('DB_CONNECT_TIMEOUT_MS', 2000, 100, 60_000),
        statementMs: int('DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
        lockMs: int('DB_LOCK_TIMEOUT_MS', 2000, 100, 600_000),
      },
    },
    logLevel,
    bodyLimit: int('BODY_LIMIT', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 30_000, 0, 600_000),
    logOrigin: logOrigin(env.LOG_ORIGIN, problems),
    rateLimit: { max: int('RATE_LIMIT_MAX', 1000, 0, 1_000_000), windowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 1000, 3_600_000) },
    trustProxy: bool('TRUST_PROXY', false),
    seedExamples: bool('SEED_EXAMPLES', !production),
    creditCodeExceptions: exceptions,
    certIdCheckExceptions: certIdExceptions,
    auth: {
      issuer: required('AUTH_ISSUER', DEV_ISSUER),
      audience: required('AUTH_AUDIENCE', DEV_AUDIENCE),
      algorithms: algorithms as TokenAlgorithm[],
      keys: usable,
      keyFiles,
    },
    trustAnchors,
    dataProtection: dataProtection!,
    serviceKeys: serviceKeys!,
    maxCertificateBytes: int('MAX_CERTIFICATE_BYTES', 64 * 1024, 1024, 1024 * 1024),
    maxDocumentBytes: int('MAX_DOCUMENT_BYTES', 10 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    sm2Threads: int('SM2_THREADS', availableParallelism(), 0, 256),
    workers,
    ofdThreads: int('OFD_THREADS', availableParallelism(), 0, 256),
    publicBaseUrl: publicBaseUrl(env.PUBLIC_BASE_URL, problems),
    // The issue's bound: a QR on a phone is good for five minutes at most, so one photographed over a shoulder soon dies.
    presentationTtlSeconds: int('PRESENTATION_TTL', 300, 1, 300),
    usingExampleKeys,
  }
  if (env.DATA_DIR === 'memory://') config.database.dataDir = 'memory://'
  // PGlite lives inside the process that opened it: a second process cannot share it.
  if (!url && config.workers > 1) problems.push(`WORKERS=${config.workers} needs DATABASE_URL: the embedded PGlite database is opened by one process, so it runs one worker (unset WORKERS or set it to 1)`)
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/**
 * True when `file` holds the same secret or anchors as keys.example/`name` (compared by what
 * `identity` extracts), wherever it was copied to.
 */
function sameFile(file: string, name: string, identity: (text: string) => string): boolean {
  try {
    return identity(readFileSync(file, 'utf8')) === identity(readFileSync(join(EXAMPLE_KEYS_DIR, name), 'utf8'))
  } catch {
    return false // unreadable or not shipped (a production image): nothing to recognise
  }
}

/** Thumbprints of the public keys in keys.example/, to recognise them wherever they were copied. */
async function exampleKeyIds(): Promise<Set<string>> {
  const kids = new Set<string>()
  let files: string[] = []
  try {
    files = readdirSync(EXAMPLE_KEYS_DIR).filter((f) => f.endsWith('.jwks.json') || f.endsWith('.public.pem'))
  } catch {
    return kids // not shipped (a production image): nothing to recognise
  }
  for (const f of files) {
    for (const k of await parseVerificationKeys(readFileSync(join(EXAMPLE_KEYS_DIR, f), 'utf8')).catch(() => [])) kids.add(k.thumbprint)
  }
  return kids
}

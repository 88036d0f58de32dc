import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { signDevToken, type DevTokenOptions } from '../auth/devTokens.js'
import { ROLES, type Role } from '../auth/roles.js'
import { DEV_AUDIENCE, DEV_ISSUER, EXAMPLE_KEYS_DIR } from '../config.js'
import { DEV_PRIVATE_KEY_FILE } from '../crypto/devKeys.js'
import { isValidCreditCode, isValidIdNumber, maskIdNumber } from '../ids/index.js'
import { printJson, usageError, type CliIo } from './io.js'

const MAX_TTL_SECONDS = 24 * 3600
const SUB_MAX_LENGTH = 200 // what the service accepts in "sub"

interface TokenOptions {
  role: Role[]
  org: string
  sub: string
  ttl: string
  idType?: string
  id?: string
  key?: string
  iss: string
  aud: string
  json?: boolean
}

export function registerTokenCommand(program: Command, io: CliIo): void {
  program
    .command('token')
    .description('sign a development bearer token (JWT) and print it on stdout')
    .addOption(new Option('--role <role...>', 'one or more roles').choices(ROLES).makeOptionMandatory())
    .requiredOption('--org <creditCode>', "the caller's organisation (unified social credit code)")
    .requiredOption('--sub <subject>', 'the caller (user or system name)')
    .option('--ttl <duration>', 'lifetime: seconds, or with a unit (30m, 1h); at most 24h', '1h')
    .addOption(new Option('--id-type <code>', 'holder tokens: 111 citizen ID number, 001 credit code').choices(['111', '001']))
    .option('--id <value>', "holder tokens: the holder's ID number or credit code")
    .option('--key <file>', `private key, PKCS#8 PEM: P-256, Ed25519 or RSA (default: keys.example/${DEV_PRIVATE_KEY_FILE})`)
    .option('--iss <issuer>', 'token issuer', DEV_ISSUER)
    .option('--aud <audience>', 'token audience', DEV_AUDIENCE)
    .option('--json', 'print {"token": ...} instead of the bare token')
    .addHelpText(
      'after',
      `
Without --key the token is signed with the public development key in keys.example/,
which the service accepts only outside production.

Examples:
  $ zhengzhao token --role admin --org 11100000000013338W --sub ops-alice
  $ zhengzhao token --role reader auditor --org 11330105002500287C --sub approvals --ttl 30m
  $ zhengzhao token --role holder --org 11100000000013338W --sub citizen-1 --id-type 111 --id 11010519491231002X
  $ curl -H "Authorization: Bearer $(zhengzhao token --role reader --org 11330105002500287C --sub me)" ...`,
    )
    .action((opts: TokenOptions) => signToken(opts, io))
}

/** `3600`, `90s`, `30m`, `1h` → seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smh]?)$/.exec(text.trim())
  if (!m) return undefined
  return Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!
}

function tokenOptions(opts: TokenOptions): DevTokenOptions {
  if (!isValidCreditCode(opts.org)) throw usageError(`--org ${opts.org} is not a valid unified social credit code`)
  if (opts.sub.trim() === '' || opts.sub.length > SUB_MAX_LENGTH) throw usageError(`--sub must be 1 to ${SUB_MAX_LENGTH} characters`)
  const ttlSeconds = parseDuration(opts.ttl)
  if (ttlSeconds === undefined || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
    throw usageError(`--ttl must be a positive duration of at most 24h (e.g. 3600, 30m, 1h), not "${opts.ttl}"`)
  }
  const roles = [...new Set(opts.role)]
  const token: DevTokenOptions = { roles, org: opts.org, sub: opts.sub, ttlSeconds, issuer: opts.iss, audience: opts.aud }
  if (!roles.includes('holder')) {
    // Keep personal data out of tokens that do not need it.
    if (opts.idType !== undefined || opts.id !== undefined) throw usageError('--id-type and --id are only for tokens with the holder role')
    return token
  }
  if (opts.idType === undefined || opts.id === undefined) throw usageError('the holder role needs --id-type and --id')
  // Error messages never repeat the ID number, only its mask.
  if (opts.idType === '111' && !isValidIdNumber(opts.id)) throw usageError(`--id ${maskIdNumber(opts.id)} is not a valid citizen ID number`)
  if (opts.idType === '001' && !isValidCreditCode(opts.id)) throw usageError('--id is not a valid unified social credit code')
  return { ...token, idType: opts.idType, id: opts.id.toUpperCase() }
}

async function signToken(opts: TokenOptions, io: CliIo): Promise<void> {
  const token = tokenOptions(opts)
  // The default is the shipped key wherever the command runs from; an explicit --key is relative to the cwd.
  const keyFile = opts.key === undefined ? join(EXAMPLE_KEYS_DIR, DEV_PRIVATE_KEY_FILE) : resolve(io.cwd, opts.key)
  let pem: string
  try {
    pem = readFileSync(keyFile, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw usageError(`cannot read the signing key ${keyFile}: ${reason}; pass --key FILE`)
  }
  let jwt: string
  try {
    jwt = await signDevToken(pem, token)
  } catch (err) {
    throw usageError(`cannot sign with ${keyFile}: ${(err as Error).message}`)
  }
  if (opts.json) printJson(io, { token: jwt })
  else io.stdout(`${jwt}\n`)
}

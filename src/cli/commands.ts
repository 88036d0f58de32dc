import type { Command } from 'commander'
import type { CliIo } from './io.js'

/**
 * The CLI's commands, each module loaded only when its command runs: a command's imports (the
 * database, fastify, jose, forge, the SM2 arithmetic…) cost a few hundred milliseconds of start-up
 * each, and a process runs one command. `term` and `summary` are what the program's own --help
 * lists, so listing needs no module: test/cli/commands.test.ts checks they are what each command
 * declares (change the command's description, change its summary here).
 */
export interface CommandEntry {
  name: string
  term: string
  summary: string
  load(): Promise<(program: Command, io: CliIo) => void>
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'keys',
    term: 'keys [options]',
    summary: "write a fresh development key set: identity provider, RSA and SM2 CAs, example issuers, data-protection keys, the service's signing key",
    load: async () => (await import('./keys.js')).registerKeysCommand,
  },
  {
    name: 'issuer-cert',
    term: 'issuer-cert [options]',
    summary: 'make a development signing certificate and key for a new issuer, signed by the development CA, and the body that registers it',
    load: async () => (await import('./issuerCert.js')).registerIssuerCertCommand,
  },
  {
    name: 'token',
    term: 'token [options]',
    summary: 'sign a development bearer token (JWT) and print it on stdout',
    load: async () => (await import('./token.js')).registerTokenCommand,
  },
  {
    name: 'cert-id',
    term: 'cert-id',
    summary: 'mint and check GB/T 36904 e-certificate identifiers (电子证照标识) and their MOD 37,36 check character',
    load: async () => (await import('./certId.js')).registerCertIdCommand,
  },
  {
    name: 'sign',
    term: 'sign [options] <files...>',
    summary: "sign certificate JSON (the payload of the README's marriage.json example) as its issuer: a file, JSON Lines (one per line) or stdin, into compact JWS",
    load: async () => (await import('./sign.js')).registerSignCommand,
  },
  {
    name: 'push',
    term: 'push [options] <paths...>',
    summary: 'push signed certificates (.jws files, .jwsl files of one JWS per line, sealed .ofd files, or folders of them) to the service',
    load: async () => (await import('./push.js')).registerPushCommand,
  },
  {
    name: 'verify',
    term: 'verify [options] [paths...]',
    summary: 'verify certificates and sealed OFD files offline against a signed trust bundle (optionally with the live status), or verify a receipt',
    load: async () => (await import('./verify.js')).registerVerifyCommand,
  },
  {
    name: 'log',
    term: 'log',
    summary: 'check the Merkle log: signed checkpoints, consistency, inclusion of your events',
    load: async () => (await import('./log.js')).registerLogCommand,
  },
  {
    name: 'migrate',
    term: 'migrate [options]',
    summary: 'apply pending database migrations (the database the service is configured with)',
    load: async () => (await import('./migrate.js')).registerMigrateCommand,
  },
  {
    name: 'seed',
    term: 'seed [options]',
    summary: 'apply pending migrations, then load the example catalogue of certificate types',
    load: async () => (await import('./seed.js')).registerSeedCommand,
  },
]

/** The command `argv` runs (`help NAME` names one too), or undefined for the program's own help, version or an unknown name. */
export function requestedCommand(argv: readonly string[]): CommandEntry | undefined {
  const [first, second] = argv
  // The program's own options (--help, --version) come before any command name.
  if (first === undefined || first.startsWith('-')) return undefined
  const name = first === 'help' ? second : first
  return COMMANDS.find((c) => c.name === name)
}

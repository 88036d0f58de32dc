import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { DEV_JWKS_FILE, DEV_PRIVATE_KEY_FILE, generateDevKeySet, isPrivateKeyFile } from '../crypto/devKeys.js'
import { printJson, usageError, type CliIo } from './io.js'

interface KeysOptions {
  out: string
  force?: boolean
  json?: boolean
}

export function registerKeysCommand(program: Command, io: CliIo): void {
  program
    .command('keys')
    .description('write a fresh development identity-provider key set (ES256 private key and its JWKS)')
    .requiredOption('--out <dir>', 'folder to write the key set to (created if missing)')
    .option('--force', 'overwrite files that already exist')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The keys are for development and tests only: the private key signs tokens with
"zhengzhao token", the JWKS is what the service's AUTH_KEYS points at.

Examples:
  $ zhengzhao keys --out ./dev-keys
  $ zhengzhao keys --out ./dev-keys --force
  $ AUTH_KEYS=./dev-keys/${DEV_JWKS_FILE} npm start`,
    )
    .action((opts: KeysOptions) => writeKeySet(opts, io))
}

async function writeKeySet(opts: KeysOptions, io: CliIo): Promise<void> {
  const dir = resolve(io.cwd, opts.out)
  const { files, kid } = await generateDevKeySet()
  const paths = Object.keys(files).map((name) => join(dir, name))
  // Check every file before writing any, so a refusal leaves the folder as it was.
  const existing = paths.filter((p) => existsSync(p))
  if (existing.length > 0 && !opts.force) {
    throw usageError(`refusing to overwrite ${existing.join(', ')}; pass --force to replace them`)
  }
  try {
    mkdirSync(dir, { recursive: true })
    for (const [name, contents] of Object.entries(files)) {
      const mode = isPrivateKeyFile(name) ? 0o600 : 0o644
      const path = join(dir, name)
      writeFileSync(path, contents, { mode })
      chmodSync(path, mode) // writeFileSync's mode applies only to a file it creates
    }
  } catch (err) {
    throw usageError(`cannot write to ${dir}: ${(err as Error).message}`)
  }

  const privateKey = join(dir, DEV_PRIVATE_KEY_FILE)
  const jwks = join(dir, DEV_JWKS_FILE)
  if (opts.json) return printJson(io, { dir, kid, files: paths, authKeys: jwks })
  io.stdout(
    [
      `Wrote ${privateKey} (private signing key, mode 0600)`,
      `Wrote ${jwks} (public JWKS, kid ${kid})`,
      '',
      'Development only. Point the service at the JWKS and sign tokens with the private key:',
      `  AUTH_KEYS=${jwks}`,
      `  zhengzhao token --key ${privateKey} --role reader --org <credit code> --sub <subject>`,
      '',
    ].join('\n'),
  )
}

import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import {
  DEV_CA_CERT_FILE,
  DEV_CA_SM2_CERT_FILE,
  DEV_CA_SM2_PRIVATE_KEY_FILE,
  DEV_DATA_PROTECTION_FILE,
  DEV_P12_PASSWORD,
  DEV_TRUST_ANCHORS_FILE,
  generateDevPki,
  isSecretPkiFile,
  issuerCertFile,
  issuerP12File,
  issuerPrivateKeyFile,
} from '../crypto/devCa.js'
import { DEV_JWKS_FILE, DEV_PRIVATE_KEY_FILE, DEV_SERVICE_KEY_FILE, generateDevKeySet, isPrivateKeyFile } from '../crypto/devKeys.js'
import { EXAMPLE_ISSUERS } from '../types/catalogue.js'
import { printJson, usageError, type CliIo } from './io.js'

const SM2_EXAMPLE = EXAMPLE_ISSUERS.find((i) => i.keyType === 'sm2')?.code ?? '<code>'

interface KeysOptions {
  out: string
  force?: boolean
  json?: boolean
}

export function registerKeysCommand(program: Command, io: CliIo): void {
  program
    .command('keys')
    .description('write a fresh development key set: identity provider, RSA and SM2 CAs, example issuers, data-protection keys, the service\'s signing key')
    .requiredOption('--out <dir>', 'folder to write the key set to (created if missing)')
    .option('--force', 'overwrite files that already exist')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Development and tests only. Writes:
  ${DEV_PRIVATE_KEY_FILE}, ${DEV_JWKS_FILE}
      the identity provider: "zhengzhao token" signs with the key; AUTH_KEYS points at the JWKS
  ${DEV_CA_CERT_FILE}, dev-ca.private.pem
      a development root CA (RSA-2048)
  ${DEV_CA_SM2_CERT_FILE}, ${DEV_CA_SM2_PRIVATE_KEY_FILE}
      a development SM2 root CA (国密: SM2 key, signed SM2-with-SM3 with the ID 1234567812345678)
  ${DEV_TRUST_ANCHORS_FILE}
      both roots, as the bundle TRUST_ANCHORS points at
  issuer-<code>.cert.pem, issuer-<code>.private.pem, issuer-<code>.p12
      an RSA signing certificate and key per other example issuer, for "zhengzhao sign" (.p12 password ${DEV_P12_PASSWORD})
  issuer-${SM2_EXAMPLE}.cert.pem, issuer-${SM2_EXAMPLE}.private.pem
      the SM2 example issuer: certificate under the SM2 root and PKCS#8 key as
      "openssl genpkey -algorithm SM2" writes it; no .p12 (node-forge cannot wrap an SM2 key):
      "zhengzhao sign --key" signs with alg SM2
  ${DEV_DATA_PROTECTION_FILE}
      blind-index and encryption-at-rest keys: what DATA_PROTECTION_KEYS points at
  ${DEV_SERVICE_KEY_FILE}
      the service's own Ed25519 signing key (receipts, trust bundles, log checkpoints):
      what SERVICE_KEYS points at; its public half is served at /.well-known/jwks.json
Private keys (the service key too), .p12 files and the data-protection keys are written with mode 0600.

Examples:
  $ zhengzhao keys --out ./dev-keys
  $ zhengzhao keys --out ./dev-keys --force
  $ AUTH_KEYS=./dev-keys/${DEV_JWKS_FILE} TRUST_ANCHORS=./dev-keys/${DEV_TRUST_ANCHORS_FILE} \\
      DATA_PROTECTION_KEYS=./dev-keys/${DEV_DATA_PROTECTION_FILE} SERVICE_KEYS=./dev-keys/${DEV_SERVICE_KEY_FILE} npm start`,
    )
    .action((opts: KeysOptions) => writeKeySet(opts, io))
}

async function writeKeySet(opts: KeysOptions, io: CliIo): Promise<void> {
  const dir = resolve(io.cwd, opts.out)
  const [idp, pki] = await Promise.all([generateDevKeySet(), generateDevPki(EXAMPLE_ISSUERS)])
  const files: Record<string, string | Buffer> = { ...idp.files, ...pki.files }
  const paths = Object.keys(files).map((name) => join(dir, name))
  // Check every file before writing any, so a refusal leaves the folder as it was.
  const existing = paths.filter((p) => existsSync(p))
  if (existing.length > 0 && !opts.force) {
    throw usageError(`refusing to overwrite ${existing.join(', ')}; pass --force to replace them`)
  }
  try {
    mkdirSync(dir, { recursive: true })
    for (const [name, contents] of Object.entries(files)) {
      const mode = isPrivateKeyFile(name) || isSecretPkiFile(name) ? 0o600 : 0o644
      const path = join(dir, name)
      writeFileSync(path, contents, { mode })
      chmodSync(path, mode) // writeFileSync's mode applies only to a file it creates
    }
  } catch (err) {
    throw usageError(`cannot write to ${dir}: ${(err as Error).message}`)
  }
  report(io, dir, idp.kid, paths, opts.json === true)
}

function report(io: CliIo, dir: string, kid: string, paths: string[], json: boolean): void {
  const at = (name: string) => join(dir, name)
  const issuers = EXAMPLE_ISSUERS.map(({ code, keyType }) => ({
    code,
    keyType: keyType ?? 'rsa',
    certificate: at(issuerCertFile(code)),
    privateKey: at(issuerPrivateKeyFile(code)),
    ...(keyType === 'sm2' ? {} : { p12: at(issuerP12File(code)) }),
  }))
  if (json) {
    return printJson(io, {
      dir,
      kid,
      files: paths,
      authKeys: at(DEV_JWKS_FILE),
      trustAnchors: at(DEV_TRUST_ANCHORS_FILE),
      dataProtectionKeys: at(DEV_DATA_PROTECTION_FILE),
      serviceKeys: at(DEV_SERVICE_KEY_FILE),
      p12Password: DEV_P12_PASSWORD,
      issuers,
    })
  }
  const first = issuers.find((i) => i.p12 !== undefined)!
  const sm2 = issuers.filter((i) => i.keyType === 'sm2')
  io.stdout(
    [
      `Wrote ${at(DEV_PRIVATE_KEY_FILE)} (identity provider's private signing key, mode 0600)`,
      `Wrote ${at(DEV_JWKS_FILE)} (its public JWKS, kid ${kid})`,
      `Wrote ${at(DEV_CA_CERT_FILE)} and ${at(DEV_CA_SM2_CERT_FILE)} (development root CAs, RSA and SM2) and ${at(DEV_TRUST_ANCHORS_FILE)} (both)`,
      `Wrote ${issuers.length - sm2.length} RSA example issuers' certificates, private keys and .p12 files (password ${DEV_P12_PASSWORD})`,
      `Wrote ${sm2.length} SM2 example issuer's certificate and private key (${sm2.map((i) => i.code).join(', ')}; no .p12)`,
      `Wrote ${at(DEV_DATA_PROTECTION_FILE)} (data-protection keys, mode 0600)`,
      `Wrote ${at(DEV_SERVICE_KEY_FILE)} (the service's own Ed25519 signing key for receipts, trust bundles and log checkpoints, mode 0600)`,
      '',
      'Development only. Point the service at them and sign tokens and certificates with them:',
      `  AUTH_KEYS=${at(DEV_JWKS_FILE)}`,
      `  TRUST_ANCHORS=${at(DEV_TRUST_ANCHORS_FILE)}`,
      `  DATA_PROTECTION_KEYS=${at(DEV_DATA_PROTECTION_FILE)}`,
      `  SERVICE_KEYS=${at(DEV_SERVICE_KEY_FILE)}`,
      `  zhengzhao token --key ${at(DEV_PRIVATE_KEY_FILE)} --role reader --org <credit code> --sub <subject>`,
      `  zhengzhao sign certificate.json --p12 ${first.p12} --password-env P12_PASSWORD --out certificate.jws`,
      ...sm2.map((i) => `  zhengzhao sign certificate.json --key ${i.privateKey} --out certificate.jws   # alg SM2`),
      '',
    ].join('\n'),
  )
}

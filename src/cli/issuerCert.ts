import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { EXAMPLE_KEYS_DIR } from '../config.js'
import { DEV_CA_CERT_FILE, DEV_CA_PRIVATE_KEY_FILE, DEV_CA_SM2_CERT_FILE, DEV_CA_SM2_PRIVATE_KEY_FILE, issuerCertFile, issuerPrivateKeyFile } from '../crypto/devCa.js'
import { DevCaError, makeDevIssuerCertificate } from '../crypto/devIssuerCert.js'
import { checkSigningCertificate, parseTrustAnchors } from '../crypto/x509.js'
import { issuerArg, typeCodeArg } from './certId.js'
import { CliError, EXIT_FAILED, printJson, usageError, type CliIo } from './io.js'

// zhengzhao issuer-cert: a development signing certificate and key for a new issuer code, signed
// by a development CA (keys.example/ by default), and the body of the PUT that registers it.

interface IssuerCertOptions {
  code: string
  name?: string
  type: string[]
  sm2?: boolean
  caDir?: string
  outDir: string
  force?: boolean
  json?: boolean
}

const registrationFile = (code: string): string => `issuer-${code}.register.json`
const collect = (value: string, previous: string[]) => [...previous, typeCodeArg(value)]

export function registerIssuerCertCommand(program: Command, io: CliIo): void {
  program
    .command('issuer-cert')
    .description('make a development signing certificate and key for a new issuer, signed by the development CA, and the body that registers it')
    .requiredOption('--code <credit code>', 'the issuer\'s unified social credit code (the certificate\'s serialNumber)', issuerArg)
    .requiredOption('--out-dir <dir>', 'folder to write the certificate, key and registration body to (created if missing)')
    .option('--name <name>', 'the issuing department\'s name (the certificate\'s CN and O)')
    .option('--type <type code>', 'a certificate type it may issue, for the registration body (repeat for more)', collect, [])
    .option('--sm2', 'an SM2 key under the SM2 development root (alg SM2), instead of P-256 under the RSA root (alg ES256)')
    .option('--ca-dir <dir>', 'the development CA\'s folder: keys.example/, or a set "zhengzhao keys" wrote')
    .option('--force', 'overwrite files that already exist')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Development and tests only: the CA's private key is in keys.example/, which is public. Reads
${DEV_CA_CERT_FILE} and ${DEV_CA_PRIVATE_KEY_FILE} (with --sm2: ${DEV_CA_SM2_CERT_FILE} and
${DEV_CA_SM2_PRIVATE_KEY_FILE}) from --ca-dir, writes nothing there, and writes to --out-dir:
  issuer-<code>.cert.pem       the signing certificate: CA:false, keyUsage digitalSignature and
                               nonRepudiation, CN and O the name, serialNumber the code, 3 years
  issuer-<code>.private.pem    its PKCS#8 private key (mode 0600), for "zhengzhao sign --key"
  issuer-<code>.register.json  the body of PUT /v1/issuers/{code}: name, typeCodes, certificates
A service whose TRUST_ANCHORS holds that CA's root (the development default does) accepts it.

Examples:
  $ zhengzhao issuer-cert --code 11330106MB12345688 --name 杭州市拱墅区民政局 --type 11100000000013338W009 --out-dir ./issuers
  $ zhengzhao issuer-cert --code 11330106MB12345688 --sm2 --out-dir ./issuers --force
  $ zhengzhao issuer-cert --code 11330106MB12345688 --ca-dir ./dev-keys --out-dir ./dev-keys --json`,
    )
    .action((opts: IssuerCertOptions) => makeIssuerCert(opts, io))
}

function readCa(dir: string, sm2: boolean): { certificatePem: string; privateKeyPem: string } {
  const [certFile, keyFile] = sm2 ? [DEV_CA_SM2_CERT_FILE, DEV_CA_SM2_PRIVATE_KEY_FILE] : [DEV_CA_CERT_FILE, DEV_CA_PRIVATE_KEY_FILE]
  try {
    return { certificatePem: readFileSync(join(dir, certFile), 'utf8'), privateKeyPem: readFileSync(join(dir, keyFile), 'utf8') }
  } catch (err) {
    throw usageError(`cannot read the development CA in ${dir}: ${(err as Error).message} (pass --ca-dir; "zhengzhao keys --out DIR" makes one)`)
  }
}

const samePlace = (a: string, b: string): boolean => existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b)

async function makeIssuerCert(opts: IssuerCertOptions, io: CliIo): Promise<void> {
  const caDir = resolve(io.cwd, opts.caDir ?? EXAMPLE_KEYS_DIR)
  const outDir = resolve(io.cwd, opts.outDir)
  // keys.example/ is the published set the service recognises by content: nothing new belongs there.
  if (samePlace(outDir, EXAMPLE_KEYS_DIR)) throw usageError('--out-dir is keys.example/, the published development set: write the new issuer elsewhere')
  const sm2 = opts.sm2 === true
  const ca = readCa(caDir, sm2)
  const name = opts.name ?? `Development issuer ${opts.code}`
  const files = { certificate: join(outDir, issuerCertFile(opts.code)), privateKey: join(outDir, issuerPrivateKeyFile(opts.code)), registration: join(outDir, registrationFile(opts.code)) }
  const existing = Object.values(files).filter((p) => existsSync(p))
  if (existing.length > 0 && !opts.force) throw usageError(`refusing to overwrite ${existing.join(', ')}; pass --force to replace them`)

  let made
  try {
    made = makeDevIssuerCertificate({ code: opts.code, name, keyType: sm2 ? 'sm2' : 'p256', ca })
  } catch (err) {
    if (err instanceof DevCaError) throw usageError(`${err.message} (in ${caDir})`)
    throw err
  }
  // The service's own check, against this CA alone: what PUT /v1/issuers/{code} will say.
  const checked = await checkSigningCertificate(made.certificatePem, parseTrustAnchors(ca.certificatePem))
  if (!checked.ok) throw new CliError(EXIT_FAILED, `the certificate made does not pass the service's check: ${checked.problems.map((p) => `${p.code} ${p.message}`).join('; ')}`)
  const registration = { name, typeCodes: opts.type, certificates: [made.certificatePem] }
  try {
    mkdirSync(outDir, { recursive: true })
    writeFileSync(files.certificate, made.certificatePem, { mode: 0o644 })
    writeFileSync(files.privateKey, made.privateKeyPem, { mode: 0o600 })
    chmodSync(files.privateKey, 0o600) // writeFileSync's mode applies only to a file it creates
    writeFileSync(files.registration, `${JSON.stringify(registration, null, 2)}\n`, { mode: 0o644 })
  } catch (err) {
    throw usageError(`cannot write to ${outDir}: ${(err as Error).message}`)
  }
  const info = checked.value
  const alg = info.algorithms[0]!
  if (opts.json) return printJson(io, { code: opts.code, name, alg, kid: info.kid, notAfter: info.notAfter.toISOString(), ...files, request: { method: 'PUT', path: `/v1/issuers/${opts.code}`, body: registration } })
  io.stdout(
    [
      `Wrote ${files.certificate} (${sm2 ? 'SM2' : 'P-256'} signing certificate for ${opts.code}, signed by ${caDir}/${sm2 ? DEV_CA_SM2_CERT_FILE : DEV_CA_CERT_FILE}, valid until ${info.notAfter.toISOString().slice(0, 10)}, kid ${info.kid})`,
      `Wrote ${files.privateKey} (its private key, mode 0600)`,
      `Wrote ${files.registration} (the body of PUT /v1/issuers/${opts.code}${opts.type.length === 0 ? '; add its type codes with --type, or edit typeCodes' : ''})`,
      '',
      'Next: register the issuer with an operator token, then sign as it (alg ' + alg + '):',
      `  curl -X PUT http://127.0.0.1:3000/v1/issuers/${opts.code} \\`,
      `    -H "authorization: Bearer $(zhengzhao token --role admin --org 11100000000013338W --sub ops)" \\`,
      `    -H 'content-type: application/json' --data @${files.registration}`,
      `  zhengzhao sign certificate.json --key ${files.privateKey} --out certificate.jws`,
      '',
    ].join('\n'),
  )
}

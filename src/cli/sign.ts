import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { decodeProtectedHeader } from 'jose'
import { CERT_SIGNING_ALGORITHMS, loadSigningKey, signCertificate, SigningError, type CertSigningAlgorithm } from '../crypto/jws.js'
import { checkCertificateJson, type LocalProblem } from './certificateChecks.js'
import { CliError, EXIT_FAILED, usageError, type CliIo } from './io.js'

interface SignOptions {
  key?: string
  p12?: string
  password?: string
  passwordEnv?: string
  alg?: CertSigningAlgorithm
  out?: string
  check: boolean
}

export function registerSignCommand(program: Command, io: CliIo): void {
  program
    .command('sign')
    .description("sign a certificate JSON file (DESIGN.md §3) as its issuer and print the compact JWS")
    .argument('<file>', 'the certificate payload, a JSON file')
    .option('--key <file>', 'private key, PEM: PKCS#8, PKCS#1 or SEC1 (P-256, Ed25519, RSA ≥ 2048 bits, or SM2 as "openssl genpkey -algorithm SM2" writes it)')
    .option('--p12 <file>', 'PKCS#12 file holding the signing key')
    .option('--password <password>', 'password of the .p12 or of an encrypted PEM key (visible to other local users: prefer --password-env)')
    .option('--password-env <var>', 'read the password from this environment variable')
    .addOption(new Option('--alg <alg>', 'signature algorithm (default by key: ES256, EdDSA, RS256, SM2)').choices(CERT_SIGNING_ALGORITHMS))
    .option('--out <file>', 'write the JWS to this file instead of stdout')
    .option('--no-check', 'sign without checking the identifier and holder ID first (to test the server\'s rejections)')
    .addHelpText(
      'after',
      `
Before signing, the file is checked: it has the fields of a certificate; "id" is a valid
GB/T 36904 identifier whose type and issuer segments equal "typeCode" and "issuer.code"; the
holder ID is a valid citizen ID number (idType 111) or credit code (idType 001). Any problem
is listed and nothing is signed (exit 1). The JWS header carries alg, kid (the key's RFC 7638
thumbprint) and typ zhengzhao-cert+jws.

alg is chosen from the key: P-256 ES256, Ed25519 EdDSA, RSA RS256 (PS256 with --alg), and an
SM2 key (国密) SM2: SM2-with-SM3 with the ID 1234567812345678, the signature 64 bytes r‖s, kid
the thumbprint of the JWK {"crv":"SM2","kty":"EC",x,y}. An SM2 key is read from PEM (PKCS#8
as "openssl genpkey -algorithm SM2" writes it, encrypted PKCS#8, or SEC1) or from a .p12 that
openssl made; "zhengzhao keys" writes its SM2 example issuer's key as PEM only.

Examples:
  $ zhengzhao sign licence.json --key issuer.private.pem > licence.jws
  $ P12_PASSWORD=zhengzhao-dev zhengzhao sign licence.json --p12 keys.example/issuer-11330105002500287C.p12 --password-env P12_PASSWORD --out licence.jws
  $ zhengzhao sign licence.json --key rsa.private.pem --alg PS256 --out licence.jws
  $ zhengzhao sign licence.json --key keys.example/issuer-11330102MB2345678W.private.pem --out licence.jws   # alg SM2
  $ zhengzhao sign broken.json --key issuer.private.pem --no-check --out broken.jws`,
    )
    .action((file: string, opts: SignOptions) => sign(file, opts, io))
}

function readPassword(opts: SignOptions, io: CliIo): string | undefined {
  if (opts.password !== undefined && opts.passwordEnv !== undefined) throw usageError('give --password or --password-env, not both')
  if (opts.passwordEnv === undefined) return opts.password
  const value = io.env[opts.passwordEnv]
  if (value === undefined) throw usageError(`the environment variable ${opts.passwordEnv} (--password-env) is not set`)
  return value
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw usageError(`cannot read ${what} ${path}: ${reason}`)
  }
}

function loadKey(opts: SignOptions, io: CliIo) {
  if ((opts.key === undefined) === (opts.p12 === undefined)) throw usageError('give the signing key with exactly one of --key FILE and --p12 FILE')
  const password = readPassword(opts, io)
  const file = resolve(io.cwd, (opts.key ?? opts.p12)!)
  const contents = readFile(file, 'the signing key')
  try {
    return opts.key !== undefined ? loadSigningKey({ keyPem: contents.toString('utf8'), password }) : loadSigningKey({ p12: contents, password })
  } catch (err) {
    if (err instanceof SigningError) throw usageError(`cannot use the signing key ${file}: ${err.message}`)
    throw err
  }
}

export function describeProblems(file: string, problems: LocalProblem[]): string {
  const lines = problems.map((p) => `  ${p.pointer || '/'}  ${p.code}: ${p.message}`)
  return [`${file}: ${problems.length} problem(s), nothing signed:`, ...lines].join('\n')
}

async function sign(file: string, opts: SignOptions, io: CliIo): Promise<void> {
  const path = resolve(io.cwd, file)
  const text = readFile(path, 'the certificate').toString('utf8')
  const checked = checkCertificateJson(text, { checkIds: opts.check })
  if (!checked.ok) throw new CliError(EXIT_FAILED, describeProblems(file, checked.problems))
  const key = loadKey(opts, io)
  let jws: string
  try {
    jws = await signCertificate(checked.payload, key, opts.alg === undefined ? {} : { alg: opts.alg })
  } catch (err) {
    if (err instanceof SigningError) throw usageError(`cannot sign with this key: ${err.message}`)
    throw err
  }
  if (opts.out === undefined) return io.stdout(`${jws}\n`)
  const out = resolve(io.cwd, opts.out)
  try {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, `${jws}\n`)
  } catch (err) {
    throw usageError(`cannot write ${out}: ${(err as Error).message}`)
  }
  const { alg, kid } = decodeProtectedHeader(jws)
  io.stdout(`Wrote ${out} (alg ${alg}, kid ${kid})\n`)
}

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { decodeProtectedHeader } from 'jose'
import { CERT_SIGNING_ALGORITHMS, loadSigningKey, signCertificate, SigningError, type CertSigningAlgorithm } from '../crypto/jws.js'
import { checkCertificateJson, type LocalProblem } from './certificateChecks.js'
import { CliError, EXIT_FAILED, maskIdNumbersIn, usageError, type CliIo } from './io.js'
import { outputName, readFile, readSources, type SignItem, type SignSource } from './signInputs.js'

interface SignOptions {
  outDir?: string
  jsonl?: boolean
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
    .description('sign certificate JSON (the payload of the README\'s marriage.json example) as its issuer: a file, JSON Lines (one per line) or stdin, into compact JWS')
    .argument('<files...>', 'certificate payloads: .json files (one each), .jsonl/.ndjson files (one per line), - for stdin')
    .option('--key <file>', 'private key, PEM: PKCS#8, PKCS#1 or SEC1 (P-256, Ed25519, RSA ≥ 2048 bits, or SM2 as "openssl genpkey -algorithm SM2" writes it)')
    .option('--p12 <file>', 'PKCS#12 file holding the signing key')
    .option('--password <password>', 'password of the .p12 or of an encrypted PEM key (visible to other local users: prefer --password-env)')
    .option('--password-env <var>', 'read the password from this environment variable')
    .addOption(new Option('--alg <alg>', 'signature algorithm (default by key: ES256, EdDSA, RS256, SM2)').choices(CERT_SIGNING_ALGORITHMS))
    .option('--out <file>', 'write the JWS to this file instead of stdout (one per line: JWSL, which push reads)')
    .option('--out-dir <dir>', 'write each input to its own file in DIR: a.json → DIR/a.jws, b.jsonl → DIR/b.jwsl')
    .option('--jsonl', 'read every input as JSON Lines, whatever its name (stdin is read so when its first line is a whole JSON object)')
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

At volume, sign in one process: JSON Lines in (one certificate per line), JWS Lines out (one
JWS per line, what "zhengzhao push" reads). Line N of the output is line N of the input; a
line that fails its checks is left empty and named on stderr as file:line with every problem,
the others are signed, and the exit code is 1. Many files at once go to stdout or --out as
JWSL, or one output per input with --out-dir.

Examples:
  $ zhengzhao sign licence.json --key issuer.private.pem > licence.jws
  $ P12_PASSWORD=zhengzhao-dev zhengzhao sign licence.json --p12 keys.example/issuer-11330105002500287C.p12 --password-env P12_PASSWORD --out licence.jws
  $ zhengzhao sign licence.json --key rsa.private.pem --alg PS256 --out licence.jws
  $ zhengzhao sign licence.json --key keys.example/issuer-11330102MB2345678W.private.pem --out licence.jws   # alg SM2
  $ zhengzhao sign broken.json --key issuer.private.pem --no-check --out broken.jws
  $ zhengzhao sign bulk-2025-05.jsonl --key issuer.private.pem --out bulk-2025-05.jwsl
  $ generate-certificates | zhengzhao sign - --key issuer.private.pem > bulk.jwsl
  $ zhengzhao sign out/*.json --key issuer.private.pem --out-dir signed/`,
    )
    .action((files: string[], opts: SignOptions) => sign(files, opts, io))
}

function readPassword(opts: SignOptions, io: CliIo): string | undefined {
  if (opts.password !== undefined && opts.passwordEnv !== undefined) throw usageError('give --password or --password-env, not both')
  if (opts.passwordEnv === undefined) return opts.password
  const value = io.env[opts.passwordEnv]
  if (value === undefined) throw usageError(`the environment variable ${opts.passwordEnv} (--password-env) is not set`)
  return value
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

export function describeProblems(where: string, problems: LocalProblem[]): string {
  const lines = problems.map((p) => `  ${p.pointer || '/'}  ${p.code}: ${p.message}`)
  return [`${where}: ${problems.length} problem(s), nothing signed:`, ...lines].join('\n')
}

async function sign(files: string[], opts: SignOptions, io: CliIo): Promise<void> {
  if (opts.out !== undefined && opts.outDir !== undefined) throw usageError('give --out FILE or --out-dir DIR, not both')
  const sources = await readSources(files, { jsonl: opts.jsonl === true, outDir: opts.outDir !== undefined }, io)
  const items = sources.flatMap((s) => s.items)
  if (items.length === 0) throw usageError(`no certificates in ${files.join(', ')}`)
  const checked = items.map((item) => ({ item, result: checkCertificateJson(item.text, { checkIds: opts.check }) }))
  const failures = checked.filter((c) => !c.result.ok).length
  const only = checked.length === 1 ? checked[0]!.result : undefined
  if (only !== undefined && !only.ok) throw new CliError(EXIT_FAILED, describeProblems(items[0]!.where, only.problems))
  for (const { item, result } of checked) if (!result.ok) io.stderr(`${maskIdNumbersIn(describeProblems(item.where, result.problems))}\n`)
  if (failures === items.length) throw new CliError(EXIT_FAILED, `none of ${items.length} certificate(s) signed`)

  const key = loadKey(opts, io)
  const signOne = async (payload: unknown): Promise<string> => {
    try {
      return await signCertificate(payload, key, opts.alg === undefined ? {} : { alg: opts.alg })
    } catch (err) {
      if (err instanceof SigningError) throw usageError(`cannot sign with this key: ${err.message}`)
      throw err
    }
  }
  // One JWS per item in input order; an item that failed its checks signs to undefined.
  const signed: (string | undefined)[] = []
  for (const { result } of checked) signed.push(result.ok ? await signOne(result.payload) : undefined)
  const outputs = new Map(checked.map(({ item }, i) => [item, signed[i]]))

  const header = decodeProtectedHeader(signed.find((j) => j !== undefined)!)
  const about = `alg ${header.alg}, kid ${header.kid}`
  if (opts.outDir !== undefined) {
    for (const source of sources) {
      const lines = jwsLines(source, outputs)
      if (lines === undefined) continue
      const out = resolve(io.cwd, opts.outDir, outputName(source))
      writeOut(out, lines)
      io.stdout(`Wrote ${out} (${counted(countSigned(source, outputs))}${about})\n`)
    }
  } else {
    const lines = sources.map((s) => jwsLines(s, outputs)).filter((l) => l !== undefined).join('')
    if (opts.out === undefined) io.stdout(lines)
    else {
      const out = resolve(io.cwd, opts.out)
      writeOut(out, lines)
      io.stdout(`Wrote ${out} (${counted(items.length - failures)}${about})\n`)
    }
  }
  if (failures > 0) throw new CliError(EXIT_FAILED, `${items.length - failures} of ${items.length} certificate(s) signed, ${failures} not (listed above)`)
}

/**
 * The output of one source: a JWS per line. A JSON Lines source keeps its line numbers (a line
 * that failed, or was blank, stays empty, which push skips), so push's "file:line" of the JWSL
 * is the line of the JSONL to fix. Undefined when nothing of the source was signed.
 */
function jwsLines(source: SignSource, outputs: Map<SignItem, string | undefined>): string | undefined {
  if (countSigned(source, outputs) === 0) return undefined
  if (!source.lines) return `${outputs.get(source.items[0]!)}\n`
  const byLine = new Map(source.items.map((i) => [i.line, outputs.get(i) ?? '']))
  const last = Math.max(...byLine.keys())
  return Array.from({ length: last }, (_, i) => `${byLine.get(i + 1) ?? ''}\n`).join('')
}

const counted = (n: number) => (n === 1 ? '' : `${n} certificates, `)
const countSigned = (source: SignSource, outputs: Map<SignItem, string | undefined>) => source.items.filter((i) => outputs.get(i) !== undefined).length

function writeOut(out: string, text: string): void {
  try {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, text)
  } catch (err) {
    throw usageError(`cannot write ${out}: ${(err as Error).message}`)
  }
}

import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import type { JSONWebKeySet } from 'jose'
import { readTrustBundle, statusFromBundle, trustFromBundle } from '../trust/bundleReader.js'
import { verifyItems } from '../verify/batch.js'
import { createCertificateVerifier } from '../verify/certificate.js'
import { createLiveClient } from '../verify/live.js'
import { ofdTrustFromBundle } from '../verify/ofdFile.js'
import { describeReceipt, ReceiptError, verifyReceipt } from '../verify/receipt.js'
import { describeBasis, describeVerdicts, summarise, verdictsJson, type BundleInfo } from '../verify/report.js'
import { parseJwks, ServiceJwsError } from '../verify/serviceJws.js'
import { CliError, EXIT_FAILED, printJson, usageError, type CliIo } from './io.js'
import { startProgress } from './progress.js'
import { TOKEN_ENV } from './push.js'
import { countItems, findInputFiles, readVerifyItems } from './pushInputs.js'

interface VerifyOptions {
  bundle?: string
  jwks?: string
  url?: string
  token?: string
  at?: Date
  concurrency: number
  receipt?: string
  json?: boolean
  /** False with --no-status: the bundle's status list is set aside. */
  status: boolean
}

// A distinct exit code: every certificate verified, but nothing said whether one was revoked.
// Never 0, so a script cannot take "status not checked" for "valid".
export const EXIT_STATUS_NOT_CHECKED = 3

// The largest certificate the service can be configured to accept (MAX_CERTIFICATE_BYTES).
const MAX_CERTIFICATE_BYTES = 1024 * 1024
// The largest OFD file read, as the service's MAX_DOCUMENT_BYTES (same default and bounds).
const DOCUMENT_BYTES_ENV = 'MAX_DOCUMENT_BYTES'
const DEFAULT_DOCUMENT_BYTES = 10 * 1024 * 1024
const DOCUMENT_BYTES_RANGE = [1024, 64 * 1024 * 1024] as const

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`)
  return n
}

const instant = (value: string) => {
  const ms = Date.parse(value)
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new InvalidArgumentError('must be an ISO 8601 instant, e.g. 2025-06-01T08:00:00Z')
  return new Date(ms)
}

export function registerVerifyCommand(program: Command, io: CliIo): void {
  program
    .command('verify')
    .description('verify certificates and sealed OFD files offline against a signed trust bundle (optionally with the live status), or verify a receipt')
    .argument('[paths...]', '.jws files (one JWS), .jwsl files (one per line), .ofd files (sealed OFD documents), or folders walked recursively for them')
    .option('--bundle <file>', 'the trust bundle: GET /v1/trust-bundle saved as is ({"bundle": "<jws>"}) or the bare JWS')
    .option('--jwks <file>', "the service's public keys (GET /.well-known/jwks.json): verifies the bundle, or the receipt")
    .option('--url <url>', 'also ask the service for each certificate\'s live status (POST /v1/verify {id}, or {document} for an OFD file)')
    .option('--token <token>', `bearer token for --url (default: $${TOKEN_ENV})`)
    .option('--at <instant>', 'judge signing keys and their certificates at this instant (when you received the certificates) instead of now', instant)
    .option('--concurrency <n>', 'certificates verified at once, 1 to 256 (OFD files: no more than the cores)', integer(1, 256), 32)
    .option('--no-status', "set the bundle's status list aside: status is then not checked offline (exit 3 unless --url says it)")
    .option('--receipt <file>', "verify this receipt (an answer's `receipt`: its Merkle-log proof, checked against the checkpoint it carries) against --jwks and print what it proves")
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Each certificate is checked offline: the signature with the bundle's key named by kid; that key
registered to the issuer, with the algorithm; the key's window; its certificate chaining to the
bundle's anchors; the issuer allowed for the type; the identifier; the holder ID; the validity
period. Offline there is no time of receipt, so keys and their certificates are judged now
(or at --at): a certificate signed by a key retired or compromised since reads INVALID
(KEY_RETIRED, KEY_COMPROMISED); --url asks the service, which judges at the time of receipt
and adds the status (revoked, suspended, superseded). Output names each certificate by file and
line with reason codes, never its holder.

Status: the bundle lists every certificate that was revoked, suspended or superseded when it
was made (its iat). A certificate it lists is INVALID (REVOKED, SUSPENDED, SUPERSEDED) and its
line says "status as of <iat>: revoked since <time>"; a VALID line says "status as of <iat>".
A change made after the bundle is not in it: fetch a fresh bundle, or add --url, whose live
status wins over the bundle's. A bundle without a status list (from an older service), or
--no-status, checks no status: every line says "status not checked" and the exit code is 3.

Each .ofd file (a sealed OFD document, GB/T 33190 with GB/T 38540 or GM/T 0031 seals) is read
whole, one per worker slot, only when it is at most $${DOCUMENT_BYTES_ENV} bytes (default 10 MB;
a larger one is DOCUMENT_TOO_LARGE, unread) and checked offline: every seal check (references,
dataHash, propertyInfo, signerSignature, sealSignature, signingTime, signerInSeal, trustChain
and sealMakerChain to the bundle's anchors through the issuers' registered chains, coverage),
then that each seal was made with a signing key some issuer in the bundle registered
(SIGNER_NOT_REGISTERED) and good now or at --at (KEY_RETIRED, KEY_COMPROMISED), then the
status of the certificate that carries it, found in the bundle's list by the file's SM3 (the
exact bytes: a file re-zipped with the same seals is not found, and reads as not listed; --url
finds no record for it either). VALID needs verifyFile 0 and all of that; a file that is no OFD package is INVALID with its code
(ARCHIVE_INVALID, XML_DTD_NOT_ALLOWED, ...). Its line names the issuer codes of its seals and
the file's SM3, never the holder, the metadata or a seal's name; --url sends the file to
POST /v1/verify {document}, which names the certificate that carries it and its status.

Without --jwks the bundle is used unverified, and the output says so.
Exit codes: 0 every certificate valid with its status checked (or the receipt verifies), 1 any
invalid, 2 usage or environment error (unreadable files, a bundle whose signature does not
match --jwks, the service refusing --token), 3 none invalid but the status of some not checked
(a bundle without a status list, or --no-status, and no --url).

Examples:
  $ curl -sH "Authorization: Bearer $ZHENGZHAO_TOKEN" https://zz.example.gov.cn/v1/trust-bundle > bundle.json
  $ curl -s https://zz.example.gov.cn/.well-known/jwks.json > jwks.json
  $ zhengzhao verify ./received/ --bundle bundle.json --jwks jwks.json
  $ zhengzhao verify bulk.jwsl --bundle bundle.json --jwks jwks.json --json > report.json
  $ zhengzhao verify licence.jws --bundle bundle.json --jwks jwks.json --url https://zz.example.gov.cn
  $ zhengzhao verify 营业执照.ofd --bundle bundle.json --jwks jwks.json
  $ zhengzhao verify --receipt lookup-answer.json --jwks jwks.json`,
    )
    .action((paths: string[], opts: VerifyOptions) => (opts.receipt !== undefined ? receiptMode(paths, opts, io) : certificateMode(paths, opts, io)))
}

function readText(io: CliIo, file: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8')
  } catch (err) {
    throw usageError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function readJwks(io: CliIo, file: string): JSONWebKeySet {
  try {
    return parseJwks(readText(io, file, 'JWKS'))
  } catch (err) {
    throw err instanceof ServiceJwsError ? usageError(`${file}: ${err.message}`) : err
  }
}

async function receiptMode(paths: string[], opts: VerifyOptions, io: CliIo): Promise<void> {
  if (paths.length > 0 || opts.bundle !== undefined) throw usageError('--receipt verifies one receipt: give no certificates and no --bundle with it')
  if (opts.jwks === undefined) throw usageError("--receipt needs --jwks, the service's public keys (GET /.well-known/jwks.json)")
  const jwks = readJwks(io, opts.jwks)
  const text = readText(io, opts.receipt!, 'receipt')
  try {
    const receipt = await verifyReceipt(text, jwks)
    if (opts.json) printJson(io, { valid: true, ...receipt })
    else io.stdout(describeReceipt(receipt))
  } catch (err) {
    if (!(err instanceof ReceiptError)) throw err
    if (opts.json) printJson(io, { valid: false, code: err.code, message: err.message })
    throw new CliError(EXIT_FAILED, `INVALID receipt ${opts.receipt}: ${err.code}: ${err.message}`)
  }
}

async function loadBundle(io: CliIo, opts: VerifyOptions) {
  if (opts.bundle === undefined) throw usageError('--bundle is required: save GET /v1/trust-bundle to a file')
  const jwks = opts.jwks !== undefined ? readJwks(io, opts.jwks) : undefined
  let read
  try {
    read = await readTrustBundle(readText(io, opts.bundle, 'trust bundle'), jwks)
  } catch (err) {
    if (!(err instanceof ServiceJwsError)) throw err
    throw usageError(`the trust bundle ${opts.bundle} cannot be used: ${err.code}: ${err.message}`)
  }
  let trust
  try {
    const status = statusFromBundle(read.payload)
    const info: BundleInfo = {
      verified: read.verified,
      kid: read.kid,
      issuedAt: new Date(read.payload.iat * 1000).toISOString(),
      ...(status ? { status: { asOf: status.asOf.toISOString(), listed: status.size } } : {}),
      ...(opts.status ? {} : { statusIgnored: true }),
    }
    trust = trustFromBundle(read.payload)
    return { info, trust, ofdTrust: await ofdTrustFromBundle(read.payload, trust), status: opts.status ? status : undefined }
  } catch (err) {
    throw usageError(`the trust bundle ${opts.bundle} cannot be used: ${(err as Error).message}`)
  }
}

function maxDocumentBytes(io: CliIo): number {
  const text = io.env[DOCUMENT_BYTES_ENV]
  if (text === undefined || text === '') return DEFAULT_DOCUMENT_BYTES
  const n = Number(text)
  const [min, max] = DOCUMENT_BYTES_RANGE
  if (!/^\d+$/.test(text) || n < min || n > max) throw usageError(`${DOCUMENT_BYTES_ENV} must be an integer from ${min} to ${max}`)
  return n
}

function liveClient(io: CliIo, opts: VerifyOptions) {
  if (opts.url === undefined) return undefined
  let url: URL
  try {
    url = new URL(opts.url)
  } catch {
    throw usageError(`--url ${opts.url} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--url must be http or https, not ${url.protocol}`)
  const token = (opts.token ?? io.env[TOKEN_ENV] ?? '').trim()
  if (token === '') throw usageError(`--url needs a token: pass --token or set ${TOKEN_ENV}`)
  return createLiveClient(url.href, token)
}

async function certificateMode(paths: string[], opts: VerifyOptions, io: CliIo): Promise<void> {
  if (paths.length === 0) throw usageError('give .jws, .jwsl or .ofd files or folders to verify (or --receipt FILE)')
  const maxBytes = maxDocumentBytes(io)
  const { info, trust, ofdTrust, status } = await loadBundle(io, opts)
  const live = liveClient(io, opts)
  const files = findInputFiles(paths, io.cwd, { documents: true })
  const total = await countItems(files, readVerifyItems).catch((err: Error) => Promise.reject(usageError(`cannot read the inputs: ${err.message}`)))
  if (total === 0) throw usageError(`no certificates in ${paths.join(', ')}`)

  const now = new Date()
  const at = opts.at ?? now
  const started = Date.now()
  const progress = startProgress(io, total, 'verifying')
  let verdicts
  try {
    // OFD files: the seal checks are CPU work, so no more at once than cores (each holds its file).
    const documents = { trust: ofdTrust, maxBytes, slots: Math.min(opts.concurrency, availableParallelism()) }
    const options = { verifier: createCertificateVerifier(trust), times: { at, now }, maxBytes: MAX_CERTIFICATE_BYTES, concurrency: opts.concurrency, live, documents, status, onDone: () => progress.advance(1) }
    verdicts = await verifyItems(readVerifyItems(files, io.cwd), options)
  } catch (err) {
    throw err instanceof CliError ? err : usageError(`cannot verify the inputs: ${(err as Error).message}`)
  } finally {
    progress.stop()
  }
  const summary = summarise(verdicts, (Date.now() - started) / 1000)
  if (opts.json) printJson(io, verdictsJson(info, at, verdicts, summary))
  else io.stdout(describeBasis(info, at, opts.at !== undefined, live !== undefined) + describeVerdicts(verdicts, summary))
  if (summary.invalid > 0) throw new CliError(EXIT_FAILED, `${summary.invalid} of ${summary.total} certificate(s) invalid`)
  if (summary.statusNotChecked > 0) {
    throw new CliError(EXIT_STATUS_NOT_CHECKED, `status not checked for ${summary.statusNotChecked} of ${summary.total} certificate(s): ${opts.status ? 'the bundle carries no status list' : '--no-status'}; fetch a new bundle or add --url`)
  }
}

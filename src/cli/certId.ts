import type { Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { InvalidArgumentError, type Command } from 'commander'
import { CERT_ID_PREFIX, formatCertId, nextVersion, parseCertId, parseCreditCode, type CertIdResult } from '../ids/index.js'
import { CliError, EXIT_FAILED, printJson, usageError, type CliIo } from './io.js'

// zhengzhao cert-id: mint and check GB/T 36904 e-certificate identifiers with the same pure code
// the service uses (src/ids/certId.ts). Minting is strict: it never writes a wrong check character.

/** What a test (or a caller) may hand in instead of the process's stdin. */
type CertIdIo = CliIo & { stdin?: Readable }

/** Why a credit code given on the command line is not one, naming the right check character. */
function creditCodeFault(code: string): string | undefined {
  const parsed = parseCreditCode(code)
  if (parsed.ok) return undefined
  if (parsed.problem === 'CHECK_CHAR') return `its check character should be ${parsed.expected}`
  return parsed.problem === 'LENGTH' ? 'not 18 characters' : 'a character outside 0-9 and A-Z without I, O, S, V, Z'
}

export const typeCodeArg = (value: string) => {
  if (!/^[0-9A-Z]{18}[0-9]{3}$/.test(value)) throw new InvalidArgumentError('must be 21 characters: the defining authority\'s 18-character credit code and 3 digits')
  const fault = creditCodeFault(value.slice(0, 18))
  if (fault) throw new InvalidArgumentError(`its first 18 characters are not a valid credit code: ${fault}`)
  return value
}
export const issuerArg = (value: string) => {
  const fault = creditCodeFault(value)
  if (fault) throw new InvalidArgumentError(`not a valid unified social credit code: ${fault}`)
  return value
}
const serialArg = (value: string) => {
  if (!/^[A-Z0-9]{1,64}$/.test(value)) throw new InvalidArgumentError('must be 1 to 64 upper-case letters and digits')
  return value
}
const versionArg = (value: string) => {
  if (!/^[0-9]{1,3}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be 1 to 999 (written 001 to 999)')
  return Number(value)
}

/** The precise fault of an identifier, in words, with the right check character when that is the fault. */
export function describeCertIdFault(id: string, result: Extract<CertIdResult, { ok: false }>): string {
  const segments = id.split('.')
  switch (result.problem) {
    case 'FORMAT':
      return `FORMAT: not ten non-empty dot-separated segments (${CERT_ID_PREFIX}.<type code>.<issuer code>.<serial>.<version>.<check>)`
    case 'PREFIX':
      return `PREFIX: does not start with ${CERT_ID_PREFIX}`
    case 'TYPE_CODE': {
      const type = segments[5] ?? ''
      const fault = /^[0-9A-Z]{18}[0-9]{3}$/.test(type) ? creditCodeFault(type.slice(0, 18)) : undefined
      return `TYPE_CODE: the type code is not an 18-character credit code and 3 digits${fault ? ` (the credit code: ${fault})` : ''}`
    }
    case 'ISSUER_CODE':
      return `ISSUER_CODE: the issuer code is not a valid unified social credit code (${creditCodeFault(segments[6] ?? '')})`
    case 'SERIAL':
      return 'SERIAL: the serial is not 1 to 64 upper-case letters and digits'
    case 'VERSION':
      return 'VERSION: the version is not 3 digits, 001 to 999'
    case 'CHECK_CHAR':
      return `CHECK_CHAR: the check character is ${JSON.stringify(segments[9] ?? '')}; ISO 7064 MOD 37,36 gives ${result.expected}`
  }
}

/** The identifiers to check: the arguments, with `-` standing for stdin, one per line. */
async function* identifiers(args: string[], io: CertIdIo): AsyncGenerator<string> {
  for (const arg of args) {
    if (arg !== '-') {
      yield arg
      continue
    }
    const lines = createInterface({ input: io.stdin ?? process.stdin, crlfDelay: Infinity })
    for await (const line of lines) {
      const id = line.trim()
      if (id !== '') yield id
    }
  }
}

async function check(args: string[], opts: { json?: boolean }, io: CertIdIo): Promise<void> {
  const results: { id: string; ok: boolean; problem?: string; expected?: string; message: string }[] = []
  for await (const id of identifiers(args, io)) {
    const parsed = parseCertId(id)
    const result = parsed.ok
      ? { id, ok: true, message: 'OK' }
      : { id, ok: false, problem: parsed.problem, ...(parsed.expected ? { expected: parsed.expected } : {}), message: describeCertIdFault(id, parsed) }
    results.push(result)
    if (!opts.json) io.stdout(`${result.ok ? 'OK     ' : 'INVALID'}  ${id}${result.ok ? '' : `  ${result.message}`}\n`)
  }
  if (results.length === 0) throw usageError('no identifiers to check (give them as arguments, or - to read them from stdin, one per line)')
  const invalid = results.filter((r) => !r.ok).length
  if (opts.json) printJson(io, { valid: results.length - invalid, invalid, results })
  if (invalid > 0) throw new CliError(EXIT_FAILED, `${invalid} of ${results.length} identifier(s) invalid`)
}

export function registerCertIdCommand(program: Command, io: CliIo): void {
  const command = program
    .command('cert-id')
    .description('mint and check GB/T 36904 e-certificate identifiers (电子证照标识) and their MOD 37,36 check character')
    .addHelpText(
      'after',
      `
An identifier is ${CERT_ID_PREFIX}.<type code>.<issuer code>.<serial>.<version>.<check>: the type
code is 21 characters (the defining authority's 18-character credit code and 3 digits), the
issuer code the issuer's credit code (ZZBFJGDM), the serial 1 to 64 upper-case letters and
digits, the version 001 to 999, and the check character ISO 7064 MOD 37,36 over the four parts
joined without dots. Minting is strict: it never writes a wrong check character (the service's
CERT_ID_CHECK_EXCEPTIONS only lets it take in named issuers' identifiers at ingest).

Exit codes: 0 minted, or every identifier valid; 1 any invalid; 2 usage error.

Examples:
  $ zhengzhao cert-id mint --type 11100000000013338W032 --issuer 11330105002500287C --serial 2025000001
  $ zhengzhao cert-id mint --type 11100000000013338W009 --issuer 11330105002500287C --serial 2025052201 --ver 2
  $ zhengzhao cert-id next 1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1
  $ zhengzhao cert-id check 1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1
  $ cut -f1 issued.tsv | zhengzhao cert-id check - --json`,
    )
  command
    .command('mint')
    .description('print the identifier of these parts, with its check character')
    .requiredOption('--type <code>', '21-character certificate type code (ZZLXDM)', typeCodeArg)
    .requiredOption('--issuer <code>', "the issuer's unified social credit code (ZZBFJGDM)", issuerArg)
    .requiredOption('--serial <serial>', '1 to 64 upper-case letters and digits', serialArg)
    .option('--ver <n>', 'the version, 1 (first issue) to 999, written 001 to 999', versionArg, 1)
    .option('--json', 'print {"id": …} as JSON')
    .addHelpText('after', '\nExamples:\n  $ zhengzhao cert-id mint --type 11100000000013338W032 --issuer 11330105002500287C --serial 2025000001')
    .action((opts: { type: string; issuer: string; serial: string; ver: number; json?: boolean }) => {
      const id = formatCertId({ typeCode: opts.type, issuerCode: opts.issuer, serial: opts.serial, version: opts.ver })
      if (opts.json) printJson(io, { id })
      else io.stdout(`${id}\n`)
    })
  command
    .command('next')
    .description('print the identifier of the next version of a valid identifier (after a change to the certificate)')
    .argument('<id>', 'a valid identifier')
    .option('--json', 'print {"id": …} as JSON')
    .addHelpText('after', '\nExamples:\n  $ zhengzhao cert-id next 1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1')
    .action((id: string, opts: { json?: boolean }) => {
      const parsed = parseCertId(id)
      if (!parsed.ok) throw new CliError(EXIT_FAILED, `INVALID ${id}: ${describeCertIdFault(id, parsed)}`)
      if (parsed.value.version >= 999) throw new CliError(EXIT_FAILED, `${id}: the version cannot exceed 999`)
      const next = formatCertId(nextVersion(parsed.value))
      if (opts.json) printJson(io, { id: next })
      else io.stdout(`${next}\n`)
    })
  command
    .command('check')
    .description('check identifiers: OK, or the precise fault and, for a wrong check character, the right one')
    .argument('<ids...>', 'identifiers; - reads them from stdin, one per line')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExamples:\n  $ zhengzhao cert-id check 1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1\n  $ zhengzhao cert-id check - < ids.txt')
    .action((ids: string[], opts: { json?: boolean }) => check(ids, opts, io))
}

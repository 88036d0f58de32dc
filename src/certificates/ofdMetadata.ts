import type { FieldProblem } from '../errors.js'
import { resolveLocation } from '../ofd/paths.js'
import { attr, children, parseXml, text } from '../ofd/xml.js'
import type { PackageFiles } from '../ofd/zip.js'
import { payloadShapeProblems } from './checks.js'
import type { CertificatePayload } from './schemas.js'

/**
 * The GB/T 36903 metadata a sealed OFD file carries as DocInfo/CustomDatas in OFD.xml, read into
 * the payload a JWS would have signed. Pure: the package's files in, a payload or every missing
 * or malformed field out. Problems point at `/document/CustomDatas/<Name>`.
 */

/** The file that holds DocInfo (GB/T 33190 §7.4: DocBody/DocInfo of the package's entry file). */
export const METADATA_FILE = 'OFD.xml'

/** Metadata name → where it lands in the payload. */
const FIELDS = {
  ZZBS: '/id',
  ZZLXDM: '/typeCode',
  ZZBH: '/number',
  ZZMC: '/name',
  CZZT: '/holder/name',
  CZZTDM: '/holder/id',
  CZZTDMLXDM: '/holder/idType',
  ZZBFJG: '/issuer/name',
  ZZBFJGDM: '/issuer/code',
  ZZBFRQ: '/issuedOn',
  ZZYXQQSRQ: '/validFrom',
  ZZYXQJZRQ: '/validUntil',
} as const
type FieldName = keyof typeof FIELDS
const DATES: readonly FieldName[] = ['ZZBFRQ', 'ZZYXQQSRQ', 'ZZYXQJZRQ']
/** Written for a long-term certificate instead of an end date (or the field left empty). */
const LONG_TERM = '长期'

const isField = (name: string): name is FieldName => Object.hasOwn(FIELDS, name)
export const metadataPointer = (name: string) => `/document/CustomDatas/${name}`

/** A problem addressed below `/payload` (the push's checks), re-addressed to the metadata it came from. */
export function pointerFromPayload(pointer: string): string {
  const below = pointer.replace(/^\/payload/, '')
  const name = (Object.keys(FIELDS) as FieldName[]).find((n) => below === FIELDS[n] || below.startsWith(`${FIELDS[n]}/`))
  if (name) return metadataPointer(name)
  const data = /^\/data\/([^/]+)/.exec(below)
  if (data) return metadataPointer(data[1]!.replace(/~1/g, '/').replace(/~0/g, '~'))
  return below.startsWith('/data') ? '/document/CustomDatas' : '/document'
}

/**
 * A calendar date as the three spellings seen on e-licences: 2025-05-22, 20250522 and
 * 2025年05月22日 (month and day may drop their leading zero in the last). Undefined unless it is
 * a real date of the years 1900–9999.
 */
export function metadataDate(value: string): string | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value) ?? /^([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(value) ?? /^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日$/.exec(value)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (y < 1900) return undefined
  const date = new Date(Date.UTC(y, mo - 1, d))
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`
}

/**
 * Whether a seal covers the metadata: one of the Seal signatures at `signaturePaths` (their
 * Signature.xml) lists OFD.xml among its References. The verifier has checked those digests; this
 * says the metadata is among what they bind, so no one can rewrite it beside a valid seal.
 */
export function sealCoversMetadata(files: PackageFiles, signaturePaths: readonly string[]): boolean {
  return signaturePaths.some((path) =>
    children(parseXml(files.get(path)!, path), 'Signature', 'SignedInfo', 'References', 'Reference').some((r) => resolveLocation(files, attr(r, 'FileRef') ?? '', path) === METADATA_FILE),
  )
}

/** Name → value of every CustomData; a name given twice is a problem (two readers, two values). */
function customDatas(files: PackageFiles): { values: Map<string, string>; problems: FieldProblem[] } {
  const body = children(parseXml(files.get(METADATA_FILE)!, METADATA_FILE), 'OFD', 'DocBody')[0]
  const values = new Map<string, string>()
  const problems: FieldProblem[] = []
  for (const node of children(body, 'DocInfo', 'CustomDatas', 'CustomData')) {
    const name = attr(node, 'Name') ?? ''
    if (name === '') {
      problems.push({ pointer: '/document/CustomDatas', code: 'METADATA_INVALID', message: 'a CustomData has no Name' })
      continue
    }
    if (values.has(name)) problems.push({ pointer: metadataPointer(name), code: 'METADATA_DUPLICATE', message: `CustomData ${name} is given more than once` })
    values.set(name, text(node) ?? '')
  }
  return { values, problems }
}

/** Sets `value` at a payload path such as /holder/id. */
function place(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.slice(1).split('/')
  let at = target
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>
  at[keys[keys.length - 1]!] = value
}

/**
 * The payload the file's metadata states, with `document` naming the file itself; or every field
 * that is missing or malformed, each once.
 * @throws OfdError when OFD.xml is not readable XML (the verifier has read it already, so rarely).
 */
export function payloadFromMetadata(files: PackageFiles, document: NonNullable<CertificatePayload['document']>): { ok: true; payload: CertificatePayload } | { ok: false; problems: FieldProblem[] } {
  const { values, problems } = customDatas(files)
  const payload: Record<string, unknown> = { data: {} }
  for (const name of Object.keys(FIELDS) as FieldName[]) {
    const value = values.get(name)
    if (name === 'ZZYXQJZRQ' && (value === undefined || value === '' || value === LONG_TERM)) continue
    if (value === undefined || value === '') {
      problems.push({ pointer: metadataPointer(name), code: 'METADATA_MISSING', message: `CustomData ${name} is missing or empty` })
      continue
    }
    if (DATES.includes(name)) {
      const date = metadataDate(value)
      if (!date) problems.push({ pointer: metadataPointer(name), code: 'METADATA_DATE_INVALID', message: `${name} is not a date written YYYY-MM-DD, YYYYMMDD or YYYY年MM月DD日` })
      else place(payload, FIELDS[name], date)
      continue
    }
    place(payload, FIELDS[name], value)
  }
  // Every other name is a field of the type's own data, checked against its schema later.
  for (const [name, value] of values) if (!isField(name)) (payload.data as Record<string, string>)[name] = value
  payload.document = document
  // Lengths, patterns, storable text: what the JWS payload's schema asks, once per field not yet named.
  const named = new Set(problems.map((p) => p.pointer))
  for (const p of payloadShapeProblems(payload, (pointer, code, message) => ({ pointer: pointerFromPayload(pointer), code: code === 'PAYLOAD_INVALID' ? 'METADATA_INVALID' : code, message }))) {
    if (!named.has(p.pointer)) {
      named.add(p.pointer)
      problems.push(p)
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, payload: payload as CertificatePayload }
}

/** JSON with members sorted at every level and no whitespace: one byte string per payload. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

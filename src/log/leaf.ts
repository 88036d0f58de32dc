import { createHash } from 'node:crypto'

/**
 * What one event puts in the Merkle log. A leaf is the RFC 8785 (JCS) canonical JSON of:
 *
 *   { v: 1, at, kind, org, actor, holder, event }
 *
 * `at`, `kind` and `org` (the acting organisation, a public body) are in clear. Everything that
 * could single out or link a person is a salted commitment with a random per-event salt:
 *   holder = hex SHA-256(salt ‖ holder blind index)            (absent holder: null)
 *   actor  = hex SHA-256(salt ‖ 0x01 ‖ recorded subject)       (the member of staff, or a holder's keyed hash)
 *   event  = hex SHA-256(salt ‖ 0x02 ‖ JCS(body))              (request id, certificates, purpose, outcome…)
 * so a published leaf names nobody and two leaves about one person share nothing. Whoever is
 * given the salt and the openings (a holder for their own events, a requester for a receipt, an
 * auditor for all) recomputes the leaf and checks it against the tree.
 */

export const LEAF_VERSION = 1

/** An audit_events row as the log reads it (`at` as text with microseconds, as stored). */
export interface LoggedEvent {
  at: string
  kind: string
  actorOrg: string | null
  actorSub: string | null
  requestId: string | null
  clientRequestId: string | null
  subject: string | null
  holderRef: string | null
  certificateIds: string[] | null
  details: unknown
}

/** The opening of the `event` commitment. */
export interface EventBody {
  request: string | null
  clientRequest: string | null
  subject: string | null
  certificates: string[]
  details: unknown
}

/** RFC 8785: object members sorted by UTF-16 code units, ECMAScript serialisation of strings and numbers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('JSON has no NaN or Infinity')
    if (value === undefined) return 'null'
    return JSON.stringify(value)
  }
  // Built by concatenation, without the intermediate arrays of entries and pieces: every access
  // event's leaf goes through here (src/log/store.ts), on the path of every answer.
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i])
    return out + ']'
  }
  const object = value as Record<string, unknown>
  // sort() without a comparator orders strings by UTF-16 code units, as RFC 8785 §3.2.3 asks.
  const keys = Object.keys(object).sort()
  let out = '{'
  for (const key of keys) {
    const member = object[key]
    if (member === undefined) continue
    out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member)
  }
  return out + '}'
}

const sha256Hex = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

export function eventBodyOf(e: LoggedEvent): EventBody {
  return { request: e.requestId, clientRequest: e.clientRequestId, subject: e.subject, certificates: e.certificateIds ?? [], details: e.details ?? {} }
}

export const holderCommitment = (salt: Uint8Array, holderRef: string): string => sha256Hex(salt, holderRef)
export const actorCommitment = (salt: Uint8Array, sub: string): string => sha256Hex(salt, Buffer.of(1), sub)
export const eventCommitment = (salt: Uint8Array, body: EventBody): string => sha256Hex(salt, Buffer.of(2), canonicalJson(body))

/** The leaf's bytes: what is hashed into the tree (SHA-256(0x00 ‖ leaf)). */
export function leafOf(e: LoggedEvent, salt: Uint8Array): Buffer {
  return Buffer.from(
    canonicalJson({
      v: LEAF_VERSION,
      at: e.at,
      kind: e.kind,
      org: e.actorOrg,
      actor: e.actorSub === null ? null : actorCommitment(salt, e.actorSub),
      holder: e.holderRef === null ? null : holderCommitment(salt, e.holderRef),
      event: eventCommitment(salt, eventBodyOf(e)),
    }),
    'utf8',
  )
}

/** The fields of a leaf, for checking an opening against it. */
export interface Leaf {
  v: number
  at: string
  kind: string
  org: string | null
  actor: string | null
  holder: string | null
  event: string
}

export function parseLeaf(bytes: Uint8Array): Leaf | undefined {
  try {
    const leaf = JSON.parse(Buffer.from(bytes).toString('utf8')) as Leaf
    if (canonicalJson(leaf) !== Buffer.from(bytes).toString('utf8') || leaf.v !== LEAF_VERSION) return undefined
    return leaf
  } catch {
    return undefined
  }
}

import { Type, type Static } from '@sinclair/typebox'

// The status of every certificate that is not valid, for offline verifiers: part of the signed
// trust bundle, true as of its iat. An entry is the identifier, the status, since when, and the
// SM3 of the sealed OFD file the certificate carries (so a file presented alone is found):
// identifiers and digests are not personal data, and nothing else goes in (no holder, no number,
// no reason text). A certificate not listed was valid, or unknown to the service, at iat.
//
// Compact, because a large deployment revokes and supersedes a lot: identifiers are grouped by
// their shared head (prefix, type code, issuer code: 56 of about 75 characters), each group
// holds parallel arrays, and times are seconds. 100,000 entries take about 3 MB of JSON
// (9.7 MB when every one carries an OFD file; test/trust/statusList.test.ts measures it).

export const LISTED_STATUSES = ['revoked', 'suspended', 'superseded'] as const
export type ListedStatus = (typeof LISTED_STATUSES)[number]

/** The stable reason a listed status fails a verification with: the same codes POST /v1/verify answers. */
export const STATUS_REASONS: Record<ListedStatus, string> = { revoked: 'REVOKED', suspended: 'SUSPENDED', superseded: 'SUPERSEDED' }

const Sm3Hex = Type.String({ pattern: '^([0-9a-f]{64})?$' })

export const StatusGroup = Type.Object({
  head: Type.String({ description: "the identifiers' shared start, through the issuer code and its dot: 1.2.156.3005.2.<type>.<issuer>." }),
  ids: Type.Array(Type.String({ minLength: 1 }), { description: 'the rest of each identifier: <serial>.<version>.<check>' }),
  since: Type.Array(Type.Integer({ minimum: 0 }), { description: 'when each took this status, seconds since the epoch (same order as ids)' }),
  sm3: Type.Optional(Type.Array(Sm3Hex, { description: 'the hex SM3 of the sealed OFD file each carries, "" for none (same order as ids); absent when none in the group carries one' })),
})

export const StatusList = Type.Object(
  {
    revoked: Type.Array(StatusGroup),
    suspended: Type.Array(StatusGroup),
    superseded: Type.Array(StatusGroup),
  },
  { description: "every certificate whose status was not valid at the bundle's iat, by identifier, with since when (and its OFD file's SM3); no holder data" },
)
export type StatusList = Static<typeof StatusList>
export type StatusGroup = Static<typeof StatusGroup>

/** One certificate that is not valid, as the service stores it. */
export interface StatusRow {
  id: string
  status: ListedStatus
  since: Date
  /** The SM3 of the sealed OFD file it carries, if any. */
  sm3?: string | null | undefined
}

/** Where an identifier splits into its group's head and the rest: before the serial (the last three segments). */
function splitId(id: string): [head: string, rest: string] {
  const parts = id.split('.')
  if (parts.length < 4) return ['', id]
  return [`${parts.slice(0, -3).join('.')}.`, parts.slice(-3).join('.')]
}

/** The compact list of `rows`, grouped by status and head, in the rows' order. */
export function buildStatusList(rows: Iterable<StatusRow>): StatusList {
  const groups = { revoked: new Map<string, StatusGroup>(), suspended: new Map<string, StatusGroup>(), superseded: new Map<string, StatusGroup>() }
  for (const row of rows) {
    const [head, rest] = splitId(row.id)
    const byHead = groups[row.status]
    let group = byHead.get(head)
    if (!group) byHead.set(head, (group = { head, ids: [], since: [] }))
    if (row.sm3 && !group.sm3) group.sm3 = group.ids.map(() => '')
    group.ids.push(rest)
    group.since.push(Math.floor(row.since.getTime() / 1000))
    group.sm3?.push(row.sm3 ?? '')
  }
  return { revoked: [...groups.revoked.values()], suspended: [...groups.suspended.values()], superseded: [...groups.superseded.values()] }
}

/** A listed certificate, as an offline verifier reads it. */
export interface ListedCertificate {
  id: string
  status: ListedStatus
  since: Date
}

/** What the bundle says about status, and as of when. */
export interface StatusIndex {
  /** The bundle's iat: changes made later are not in it. */
  asOf: Date
  /** How many certificates are listed. */
  size: number
  byId(id: string): ListedCertificate | undefined
  /** By the hex SM3 of an OFD file: the certificate that carries exactly these bytes. */
  bySm3(sm3: string): ListedCertificate | undefined
}

/**
 * Reads a validated status list into lookups by identifier and by SM3.
 * @throws Error when a group's arrays differ in length: a list that cannot be read is not half-read.
 */
export function readStatusList(list: StatusList, asOf: Date): StatusIndex {
  const byId = new Map<string, ListedCertificate>()
  const bySm3 = new Map<string, ListedCertificate>()
  // Revoked first: if a list named one identifier twice, the final status is the one kept.
  for (const status of LISTED_STATUSES) {
    for (const group of list[status]) {
      if (group.since.length !== group.ids.length || (group.sm3 && group.sm3.length !== group.ids.length)) {
        throw new Error(`the status list's ${status} group ${group.head} has ${group.ids.length} identifiers but ${group.since.length} times${group.sm3 ? ` and ${group.sm3.length} digests` : ''}`)
      }
      group.ids.forEach((rest, i) => {
        const entry: ListedCertificate = { id: `${group.head}${rest}`, status, since: new Date(group.since[i]! * 1000) }
        if (!byId.has(entry.id)) byId.set(entry.id, entry)
        const sm3 = group.sm3?.[i]
        if (sm3 && !bySm3.has(sm3)) bySm3.set(sm3, entry)
      })
    }
  }
  return { asOf, size: byId.size, byId: (id) => byId.get(id), bySm3: (sm3) => bySm3.get(sm3) }
}

/** The status check an offline verifier reports for a certificate the list names, or does not. */
export function listedStatusCheck(listed: ListedCertificate | undefined, asOf: Date, what = 'not listed'): { outcome: 'pass' | 'fail'; reason?: string; detail: string } {
  if (!listed) return { outcome: 'pass', detail: `${what} as revoked, suspended or superseded as of ${asOf.toISOString()}` }
  return { outcome: 'fail', reason: STATUS_REASONS[listed.status], detail: `${listed.status} since ${listed.since.toISOString()}, as of ${asOf.toISOString()}` }
}

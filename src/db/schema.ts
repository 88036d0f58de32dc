import { sql } from 'drizzle-orm'
import { bigint, bigserial, boolean, customType, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uniqueIndex } from 'drizzle-orm/pg-core'

// Raw bytes. PGlite hands back Uint8Array, postgres.js a Buffer: normalise to Buffer.
const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
})

/** Holder ID types (GB/T 36903 appendix A). Seeded by the first migration; unknown types are rejected. */
export const holderIdTypes = pgTable('holder_id_types', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
})

/** The catalogue of certificate types: what may be issued, to whom, by whom, with which data. */
export const certificateTypes = pgTable('certificate_types', {
  typeCode: text('type_code').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  holderIdTypes: text('holder_id_types').array().notNull(),
  dataSchema: jsonb('data_schema').notNull(),
  issuers: text('issuers').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/**
 * Append-only trail of every change and access. `subject` names what was acted on (a type code,
 * a certificate identifier); it never holds an ID number or a name.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // The clock when the row is written, not when its transaction began (`now()`): a transaction
    // that waited on a lock must not stamp its event before the one it waited for.
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
    kind: text('kind').notNull(),
    /** The caller's token subject; a holder's is a keyed hash (src/auth/subject.ts), never in clear. */
    actorSub: text('actor_sub'),
    actorOrg: text('actor_org'),
    /** The service's own id for the request: clients cannot choose it. */
    requestId: text('request_id'),
    /** The id the client sent in x-request-id, if any: a correlation hint, meaningful only with actor_org. */
    clientRequestId: text('client_request_id'),
    subject: text('subject'),
    /** Keyed blind index of the holder concerned, never the ID number itself. */
    holderRef: text('holder_ref'),
    /** Certificates an access returned or concerned (identifiers). */
    certificateIds: text('certificate_ids').array(),
    details: jsonb('details').notNull().default({}),
    /** Position in the Merkle log (src/log/), set when the event is appended to the tree; null until then. */
    leafIndex: bigint('leaf_index', { mode: 'number' }),
    /** Random per-event salt of the leaf's commitments (src/log/leaf.ts): a published leaf links nobody. */
    salt: bytea('salt'),
  },
  (t) => [
    // Every access writes a row and an entry in each index below: each is here for a query that
    // needs it (docs/benchmarks.md, "PostgreSQL's share of an access event", measures and lists them).
    uniqueIndex('audit_events_leaf_index_key').on(t.leafIndex),
    // The events still waiting for the tree: a small partial index the integrator scans.
    index('audit_events_pending_idx').on(t.id).where(sql`leaf_index is null`),
    index('audit_events_at_idx').on(t.at),
    index('audit_events_kind_at_idx').on(t.kind, t.at),
    index('audit_events_holder_ref_idx').on(t.holderRef),
    index('audit_events_actor_org_at_idx').on(t.actorOrg, t.at),
    // The certificate filter (subject = X or X among certificate_ids) as ONE GIN over both, in
    // place of a btree on subject beside a GIN on certificate_ids; the query repeats the expression.
    index('audit_events_certificates_idx').using('gin', sql`(${sql.identifier('certificate_ids')} || ${sql.identifier('subject')})`),
  ],
)

/** Reader organisations (approving departments), named so holders see who looked. */
export const readerOrgs = pgTable('reader_orgs', {
  org: text('org').primaryKey(),
  name: text('name').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/**
 * What a reader organisation may look up: one row per certificate type, optionally limited to
 * listed matter codes (null: any matter).
 */
export const grants = pgTable(
  'grants',
  {
    org: text('org').notNull(),
    typeCode: text('type_code').notNull(),
    matterCodes: text('matter_codes').array(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.org, t.typeCode] })],
)

/** Registered issuing departments. */
export const issuers = pgTable('issuers', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  typeCodes: text('type_codes').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/**
 * Issuers' signing keys, from certificates that chained to a trust anchor at registration.
 * A key signs from `activeFrom` until it is retired, or until `compromisedAt` when revoked for
 * compromise (what it signed after that instant is invalid).
 */
export const issuerKeys = pgTable(
  'issuer_keys',
  {
    kid: text('kid').primaryKey(),
    issuerCode: text('issuer_code')
      .notNull()
      .references(() => issuers.code),
    algorithms: text('algorithms').array().notNull(),
    publicKeyPem: text('public_key_pem').notNull(),
    chainPem: text('chain_pem').notNull(),
    subject: text('subject').notNull(),
    serialNumber: text('serial_number').notNull(),
    fingerprint256: text('fingerprint256').notNull(),
    notBefore: timestamp('not_before', { withTimezone: true }).notNull(),
    notAfter: timestamp('not_after', { withTimezone: true }).notNull(),
    activeFrom: timestamp('active_from', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
    compromisedAt: timestamp('compromised_at', { withTimezone: true }),
    revocationComment: text('revocation_comment'),
  },
  (t) => [index('issuer_keys_issuer_idx').on(t.issuerCode)],
)

/**
 * Stored certificates. The JWS is kept exactly as received, encrypted (AES-256-GCM under
 * `keyId`, bound to the identifier); the holder is found through `holderIndex`, a keyed blind
 * index, so a dump reveals no ID number and no name. Laid out for distribution by holder_index.
 * A certificate of form 'ofd' has no JWS: its only signed form is its sealed OFD file
 * (certificate_documents); `jwsCipher` then holds the payload derived from the file's metadata
 * (canonical JSON bytes), `jwsSha256` the SHA-256 of the OFD file's bytes, and `signingKid` the
 * sealing key's kid.
 */
export const certificates = pgTable(
  'certificates',
  {
    id: text('id').primaryKey(),
    series: text('series').notNull(),
    version: integer('version').notNull(),
    typeCode: text('type_code').notNull(),
    issuerCode: text('issuer_code').notNull(),
    number: text('number').notNull(),
    holderIdType: text('holder_id_type').notNull(),
    holderIndex: text('holder_index').notNull(),
    issuedOn: date('issued_on').notNull(),
    validFrom: date('valid_from').notNull(),
    validUntil: date('valid_until'),
    status: text('status').notNull(),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }).notNull().defaultNow(),
    signingKid: text('signing_kid').notNull(),
    jwsSha256: text('jws_sha256').notNull(),
    keyId: text('key_id').notNull(),
    jwsCipher: bytea('jws_cipher').notNull(),
    /** The certificate carries a sealed OFD file (certificate_documents), as its signed payload says. */
    hasDocument: boolean('has_document').notNull().default(false),
    /** 'jws': a signed JWS; 'ofd': a sealed OFD alone, its payload derived from the file's metadata. */
    form: text('form').notNull().default('jws'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('certificates_series_version_key').on(t.series, t.version),
    // At most one version of a series is current: concurrent pushes of two versions cannot both stay in force.
    uniqueIndex('certificates_series_current_key').on(t.series).where(sql`status in ('valid', 'suspended')`),
    index('certificates_holder_idx').on(t.holderIndex, t.typeCode),
    index('certificates_type_number_idx').on(t.typeCode, t.number),
  ],
)

/** Every status change: who, when, why, from, to; in the order of `id`. */
export const certificateStatusHistory = pgTable(
  'certificate_status_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    certificateId: text('certificate_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
    actorSub: text('actor_sub'),
    actorOrg: text('actor_org'),
    requestId: text('request_id'),
    clientRequestId: text('client_request_id'),
    fromStatus: text('from_status').notNull(),
    toStatus: text('to_status').notNull(),
    /** Free text, stored with any ID-number-shaped run masked. */
    reason: text('reason').notNull(),
  },
  // A certificate's changes are written under its row lock, so `id` (a sequence) is their order.
  (t) => [index('certificate_status_history_cert_idx').on(t.certificateId, t.id)],
)

/**
 * The sealed OFD file a certificate carries (GB/T 33190), stored exactly as received and
 * encrypted like the JWS (AES-256-GCM under `keyId`, bound to the certificate's identifier). Kept
 * apart from `certificates` so lookups never read megabytes they do not serve.
 */
export const certificateDocuments = pgTable(
  'certificate_documents',
  {
    certificateId: text('certificate_id')
      .primaryKey()
      .references(() => certificates.id),
    mediaType: text('media_type').notNull(),
    /** Hex SM3 of the plaintext file: what the signed payload's `document.sm3` names. */
    sm3: text('sm3').notNull(),
    size: integer('size').notNull(),
    keyId: text('key_id').notNull(),
    cipher: bytea('cipher').notNull(),
  },
  // A presented file is found by its digest (POST /v1/verify {document}).
  (t) => [index('certificate_documents_sm3_idx').on(t.sm3)],
)

/**
 * The Merkle log's complete subtrees (RFC 9162): the hash of the 2^level leaves starting at leaf
 * index << level. Every proof is a handful of point reads by primary key; an append writes the
 * new leaves and the subtrees they complete (about two rows per event). See src/log/store.ts.
 */
export const logNodes = pgTable(
  'log_nodes',
  {
    level: integer('level').notNull(),
    index: bigint('index', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.index] })],
)

/** Every signed checkpoint (C2SP signed note), one per append, kept so any past one can be served again. */
export const logCheckpoints = pgTable('log_checkpoints', {
  size: bigint('size', { mode: 'number' }).primaryKey(),
  root: bytea('root').notNull(),
  note: text('note').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
})

/**
 * Each certificate's verification code (扫码核验, GET /v/{code}): 128 random bits, never derived
 * from the holder or the identifier. A scanned code is found by its SHA-256 (a random 128-bit code
 * needs no key: nothing smaller than the code itself can be guessed from its hash); the code itself
 * is kept encrypted like the JWS (bound to the certificate's identifier) so its issuer can fetch it
 * and its QR again to print another paper copy. One row per certificate: rotating replaces both,
 * so the old code answers 404 from then on.
 */
export const verificationCodes = pgTable('verification_codes', {
  certificateId: text('certificate_id')
    .primaryKey()
    .references(() => certificates.id),
  codeSha256: text('code_sha256').notNull().unique('verification_codes_code_sha256_key'),
  keyId: text('key_id').notNull(),
  codeCipher: bytea('code_cipher').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
})

/**
 * 亮证: a holder's short-lived, single-use presentation of one certificate (src/present/). Only
 * the SHA-256 of its token is kept (the token itself lives in the QR code on the holder's phone
 * and nowhere else: a dump cannot replay one). A use is one conditional UPDATE setting `used_at`
 * where it is still null and `expires_at` is ahead, so two scans at once cannot both succeed.
 * `used_by` is the reading organisation when a clerk's system presented a reader token, null for
 * an anonymous scan (then `used_at` alone says it was used).
 */
export const presentations = pgTable('presentations', {
  tokenSha256: text('token_sha256').primaryKey(),
  certificateId: text('certificate_id')
    .notNull()
    .references(() => certificates.id),
  holderRef: text('holder_ref').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  usedBy: text('used_by'),
})

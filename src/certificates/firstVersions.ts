import { sql, type Placeholder, type SQL } from 'drizzle-orm'

/**
 * A certificate's first version as the Merkle log's own statement stores it, beside its
 * `certificate.issued` event (src/log/store.ts, appendIssued): one statement, one round trip and
 * one commit for the row, its event, its place in the tree and the signed checkpoint. Plain JSON
 * (the ciphertext as base64), because a worker process sends it to the primary, which appends.
 * The names are the columns'.
 */
export interface FirstVersionRow {
  id: string
  series: string
  version: number
  type_code: string
  issuer_code: string
  number: string
  holder_id_type: string
  holder_index: string
  issued_on: string
  valid_from: string
  valid_until: string | null
  signing_kid: string
  jws_sha256: string
  key_id: string
  /** The stored JWS's AES-256-GCM ciphertext, base64. */
  jws_cipher: string
}

/**
 * Inserts the rows of `rows` (a jsonb array of FirstVersionRow) whose series has no version yet,
 * received and in force from `at`; returns the id of each row inserted. A row it does not insert
 * (its series or identifier is there already) is simply absent from what it returns: the caller
 * compares the count and undoes everything when one is missing.
 */
export function insertFirstVersions(rows: Placeholder | SQL, at: Placeholder | SQL): SQL {
  return sql`insert into certificates (id, series, version, type_code, issuer_code, number, holder_id_type, holder_index, issued_on, valid_from, valid_until, status, status_changed_at, received_at, signing_kid, jws_sha256, key_id, jws_cipher)
    select i.id, i.series, i.version, i.type_code, i.issuer_code, i.number, i.holder_id_type, i.holder_index, i.issued_on::date, i.valid_from::date, i.valid_until::date,
      'valid', ${at}::timestamptz, ${at}::timestamptz, i.signing_kid, i.jws_sha256, i.key_id, decode(i.jws_cipher, 'base64')
    from jsonb_to_recordset(${rows}::jsonb) as i(id text, series text, version int, type_code text, issuer_code text, number text, holder_id_type text, holder_index text,
      issued_on text, valid_from text, valid_until text, signing_kid text, jws_sha256 text, key_id text, jws_cipher text)
    where not exists (select 1 from certificates c where c.series = i.series)
    on conflict do nothing
    returning id`
}

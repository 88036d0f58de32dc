/** Why an OFD file could not be read at all; stable, for callers to switch on and map to 4xx. */
export type OfdErrorCode =
  | 'ARCHIVE_INVALID'
  | 'ARCHIVE_TOO_LARGE'
  | 'ARCHIVE_TOO_MANY_ENTRIES'
  | 'ARCHIVE_ENTRY_TOO_LARGE'
  | 'ARCHIVE_RATIO_TOO_HIGH'
  | 'ARCHIVE_SIZE_MISMATCH'
  | 'ARCHIVE_PATH_INVALID'
  | 'ARCHIVE_DUPLICATE_ENTRY'
  | 'XML_INVALID'
  | 'XML_DTD_NOT_ALLOWED'
  | 'OFD_STRUCTURE_INVALID'
  // ofd/pool.ts: the worker thread verifying the file crashed, ran out of memory or timed out.
  | 'VERIFIER_FAILED'

export class OfdError extends Error {
  constructor(
    readonly code: OfdErrorCode,
    message: string,
  ) {
    super(message)
  }
}

// What the CLI reads from files for pushing or verifying: defined here, below both, so the
// verifier does not import from the CLI (arrows point down, STYLE.md).

export interface PushItem {
  jws: string
  file: string
  line: number
  /** Position among all the items pushed, from 0. */
  ordinal: number
}

/** A sealed OFD file to verify (never pushed this way): read only when its turn comes. */
export interface DocumentItem {
  /** Absolute path: the bytes are read by whoever verifies it, one file per worker slot. */
  document: string
  file: string
  line: 1
  ordinal: number
}

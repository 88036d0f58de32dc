import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { sm2PublicKeyFromJwk, sm2Sign, sm2Verify, type Sm2PrivateKey, type Sm2PublicKey } from '../crypto/sm2.js'
import { HASH_SIZE } from './merkle.js'

/**
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
 *
 *   <origin>\n<tree size>\n<base64 root>\n\n— <origin> <base64(key ID ‖ signature)>\n…
 *
 * Signature types: 0x01 Ed25519 over the note text (the standard one, what witnesses check);
 * 0x02 ECDSA P-256 as transparency-dev/witness does it (key ID from the SPKI, DER signature over
 * SHA-256 of the text); 0xff followed by the identifier `zhengzhao/sm2-sm3` for SM2-with-SM3 (ID
 * 1234567812345678, signature 64 bytes r‖s), as the spec reserves 0xff for types it does not assign.
 */

export const SM2_NOTE_TYPE = Buffer.concat([Buffer.of(0xff), Buffer.from('zhengzhao/sm2-sm3', 'ascii')])

export interface NoteSigner {
  /** The key's JWK thumbprint (the service JWKS kid). */
  kid: string
  alg: 'EdDSA' | 'ES256' | 'SM2'
  sign(text: Buffer): Buffer
  verifier: NoteVerifier
}

export interface NoteVerifier {
  kid: string
  /** The first four bytes of SHA-256(name ‖ \n ‖ type ‖ key) for this note's key name. */
  keyId(name: string): Buffer
  verify(text: Buffer, signature: Buffer): boolean
}

export interface Checkpoint {
  origin: string
  size: number
  root: Buffer
}

const keyIdOf = (name: string, type: Buffer, key: Buffer): Buffer => createHash('sha256').update(name).update('\n').update(type).update(key).digest().subarray(0, 4)

function rawEd25519(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url')
}

function verifierFor(alg: NoteSigner['alg'], publicKey: KeyObject | Sm2PublicKey): Omit<NoteVerifier, 'kid'> {
  if (alg === 'SM2') {
    const pk = publicKey as Sm2PublicKey
    const encoded = Buffer.concat([Buffer.of(4), pk.x, pk.y])
    return { keyId: (name) => keyIdOf(name, SM2_NOTE_TYPE, encoded), verify: (text, sig) => sig.length === 64 && sm2Verify(pk, text, sig, 'raw') }
  }
  const key = publicKey as KeyObject
  if (alg === 'EdDSA') {
    const raw = rawEd25519(key)
    return { keyId: (name) => keyIdOf(name, Buffer.of(1), raw), verify: (text, sig) => sig.length === 64 && verify(null, text, key, sig) }
  }
  const spki = key.export({ format: 'der', type: 'spki' })
  const id = createHash('sha256').update(spki).digest().subarray(0, 4)
  return { keyId: () => id, verify: (text, sig) => verify('sha256', text, { key, dsaEncoding: 'der' }, sig) }
}

/** A service key as a note signer (and the matching verifier). */
export function noteSigner(kid: string, alg: NoteSigner['alg'], privateKey: KeyObject, sm2?: Sm2PrivateKey): NoteSigner {
  if (alg === 'SM2') {
    if (!sm2) throw new Error('an SM2 note key needs its parsed SM2 key')
    return { kid, alg, sign: (text) => sm2Sign(sm2, text), verifier: { kid, ...verifierFor(alg, sm2.publicKey) } }
  }
  const publicKey = createPublicKey(privateKey)
  const signText = alg === 'EdDSA' ? (text: Buffer) => sign(null, text, privateKey) : (text: Buffer) => sign('sha256', text, { key: privateKey, dsaEncoding: 'der' })
  return { kid, alg, sign: signText, verifier: { kid, ...verifierFor(alg, publicKey) } }
}

/** Verifiers for the service's published keys (/.well-known/jwks.json); keys of other kinds are skipped. */
export function noteVerifiersFromJwks(jwks: { keys: JWK[] }): NoteVerifier[] {
  const out: NoteVerifier[] = []
  for (const jwk of jwks.keys) {
    try {
      const kid = String(jwk.kid ?? '')
      if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') out.push({ kid, ...verifierFor('EdDSA', createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x! }, format: 'jwk' })) })
      else if (jwk.kty === 'EC' && jwk.crv === 'P-256') out.push({ kid, ...verifierFor('ES256', createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }, format: 'jwk' })) })
      else if (jwk.kty === 'EC' && jwk.crv === 'SM2') out.push({ kid, ...verifierFor('SM2', sm2PublicKeyFromJwk(jwk)) })
    } catch {
      // A malformed key in a JWKS signs nothing; the note then fails for want of a verified signature.
    }
  }
  return out
}

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`
}

/** The checkpoint signed by every given key, one signature line each. */
export function signCheckpoint(c: Checkpoint, keys: readonly NoteSigner[]): string {
  const text = Buffer.from(checkpointText(c), 'utf8')
  const lines = keys.map((k) => `— ${c.origin} ${Buffer.concat([k.verifier.keyId(c.origin), k.sign(text)]).toString('base64')}\n`)
  return `${checkpointText(c)}\n${lines.join('')}`
}

export type NoteFailure = 'MALFORMED_NOTE' | 'MALFORMED_CHECKPOINT' | 'WRONG_ORIGIN' | 'BAD_SIGNATURE' | 'NO_KNOWN_SIGNATURE'
export type NoteResult = { ok: true; checkpoint: Checkpoint; text: string; signedBy: string[] } | { ok: false; reason: NoteFailure; detail: string }

const B64 = /^[A-Za-z0-9+/]+={0,2}$/
const bad = (reason: NoteFailure, detail: string): NoteResult => ({ ok: false, reason, detail })

/** Parses the checkpoint lines of a note's text (origin, decimal size, base64 root; extension lines allowed). */
export function parseCheckpointText(text: string): Checkpoint | string {
  const lines = text.split('\n')
  if (lines.length < 4 || lines[lines.length - 1] !== '') return 'a checkpoint has an origin, a size and a root, each on its own line'
  const [origin, sizeText, rootText] = lines as [string, string, string]
  if (!origin) return 'the origin line is empty'
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return 'the size is not a decimal number without leading zeros'
  const root = Buffer.from(rootText, 'base64')
  if (!B64.test(rootText) || root.length !== HASH_SIZE || root.toString('base64') !== rootText) return 'the root is not the base64 of 32 bytes'
  return { origin, size: Number(sizeText), root }
}

/**
 * Verifies a signed checkpoint: well formed, every signature by a known key valid (one bad
 * signature rejects the note), at least one known key signed it, and (when given) the origin.
 */
export function verifyCheckpoint(note: string, verifiers: readonly NoteVerifier[], origin?: string): NoteResult {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note) || note.includes('\uFFFD')) return bad('MALFORMED_NOTE', 'a note holds no control character other than newline')
  const split = note.lastIndexOf('\n\n')
  if (split < 0 || !note.endsWith('\n')) return bad('MALFORMED_NOTE', 'a note is its text, a blank line, and signature lines')
  const text = note.slice(0, split + 1)
  const checkpoint = parseCheckpointText(text)
  if (typeof checkpoint === 'string') return bad('MALFORMED_CHECKPOINT', checkpoint)
  if (origin !== undefined && checkpoint.origin !== origin) return bad('WRONG_ORIGIN', `the checkpoint is for "${checkpoint.origin}", not "${origin}"`)
  const signedBy: string[] = []
  const bytes = Buffer.from(text, 'utf8')
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line)
    if (!m) return bad('MALFORMED_NOTE', 'a signature line is "— <name> <base64>"')
    const raw = Buffer.from(m[2]!, 'base64')
    if (raw.length < 5) return bad('MALFORMED_NOTE', 'a signature is a 4-byte key ID and the signature')
    for (const v of verifiers) {
      if (m[1] !== checkpoint.origin || !v.keyId(m[1]).equals(raw.subarray(0, 4))) continue
      if (!v.verify(bytes, raw.subarray(4))) return bad('BAD_SIGNATURE', `the signature by key ${v.kid} does not verify`)
      signedBy.push(v.kid)
    }
  }
  if (signedBy.length === 0) return bad('NO_KNOWN_SIGNATURE', 'no signature by a known key')
  return { ok: true, checkpoint, text, signedBy }
}

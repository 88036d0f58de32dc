import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'

/**
 * The service's secrets for personal data at rest: a key for the holder blind index and the
 * AES-256-GCM keys (by id, so they rotate: new rows use the active key, old rows keep theirs).
 */
export interface DataProtectionKeys {
  blindIndexKey: Buffer
  encryptionKeys: ReadonlyMap<string, Buffer>
  activeKeyId: string
}

const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** Parses the DATA_PROTECTION_KEYS file; throws with a precise message when anything is off. */
export function parseDataProtectionKeys(text: string): DataProtectionKeys {
  const json = JSON.parse(text) as { blindIndexKey?: unknown; encryptionKeys?: unknown; activeKeyId?: unknown }
  const key = (value: unknown, what: string): Buffer => {
    const buf = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0)
    if (buf.length !== KEY_BYTES) throw new Error(`${what} must be ${KEY_BYTES} bytes in base64`)
    return buf
  }
  const blindIndexKey = key(json.blindIndexKey, 'blindIndexKey')
  if (!Array.isArray(json.encryptionKeys) || json.encryptionKeys.length === 0) throw new Error('encryptionKeys must list at least one key')
  const encryptionKeys = new Map<string, Buffer>()
  for (const [i, entry] of (json.encryptionKeys as { id?: unknown; key?: unknown }[]).entries()) {
    if (typeof entry.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(entry.id)) throw new Error(`encryptionKeys[${i}].id must be 1-64 characters of A-Z a-z 0-9 . _ -`)
    if (encryptionKeys.has(entry.id)) throw new Error(`encryptionKeys: duplicate id ${entry.id}`)
    encryptionKeys.set(entry.id, key(entry.key, `encryptionKeys[${i}].key`))
  }
  if (typeof json.activeKeyId !== 'string' || !encryptionKeys.has(json.activeKeyId)) throw new Error('activeKeyId must name one of encryptionKeys')
  return { blindIndexKey, encryptionKeys, activeKeyId: json.activeKeyId }
}

/** Keyed blind index of a holder: equal for equal (idType, id), useless without the key. */
export function holderIndex(keys: DataProtectionKeys, idType: string, id: string): string {
  return createHmac('sha256', keys.blindIndexKey).update(`${idType}:${id.toUpperCase()}`).digest('base64url')
}

/**
 * Encrypts under the active key. `aad` binds the ciphertext to its row (the identifier), so a
 * ciphertext copied onto another row fails to decrypt instead of showing the wrong certificate.
 */
export function encrypt(keys: DataProtectionKeys, plaintext: string, aad: string): { keyId: string; cipher: Buffer } {
  return encryptBytes(keys, Buffer.from(plaintext, 'utf8'), aad)
}

/** The same for bytes (a sealed OFD file); give each kind of content its own `aad`. */
export function encryptBytes(keys: DataProtectionKeys, plaintext: Uint8Array, aad: string): { keyId: string; cipher: Buffer } {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keys.encryptionKeys.get(keys.activeKeyId)!, nonce)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { keyId: keys.activeKeyId, cipher: Buffer.concat([nonce, body, cipher.getAuthTag()]) }
}

/** Decrypts; throws when the key is unknown or the ciphertext, its tag or its row binding is wrong. */
export function decrypt(keys: DataProtectionKeys, keyId: string, data: Buffer, aad: string): string {
  return decryptBytes(keys, keyId, data, aad).toString('utf8')
}

export function decryptBytes(keys: DataProtectionKeys, keyId: string, data: Buffer, aad: string): Buffer {
  const key = keys.encryptionKeys.get(keyId)
  if (!key) throw new Error(`encryption key ${keyId} is not configured`)
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES))
  decipher.setAAD(Buffer.from(aad, 'utf8'))
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
  return Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()])
}

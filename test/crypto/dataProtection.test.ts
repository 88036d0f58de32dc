import { randomBytes } from 'node:crypto'
import t from 'tap'
import { decrypt, encrypt, holderIndex, parseDataProtectionKeys } from '../../src/crypto/dataProtection.js'

const key = () => randomBytes(32).toString('base64')
const keysWith = (active: string, entries: [string, string][], blind = key()) =>
  parseDataProtectionKeys(JSON.stringify({ blindIndexKey: blind, encryptionKeys: entries.map(([id, k]) => ({ id, key: k })), activeKeyId: active }))

t.test('encryption round-trips, is bound to its row, and keys rotate', async (t) => {
  const k1 = key()
  const old = keysWith('k1', [['k1', k1]])
  const sealed = encrypt(old, 'header.payload.signature', 'cert-1')
  t.equal(sealed.keyId, 'k1')
  t.notOk(sealed.cipher.includes(Buffer.from('payload')), 'no plaintext in the ciphertext')
  t.equal(decrypt(old, 'k1', sealed.cipher, 'cert-1'), 'header.payload.signature')
  t.throws(() => decrypt(old, 'k1', sealed.cipher, 'cert-2'), 'moved to another row: refused')
  const tampered = Buffer.from(sealed.cipher)
  tampered[20] = tampered[20]! ^ 1
  t.throws(() => decrypt(old, 'k1', tampered, 'cert-1'), 'tampered: refused')
  // Rotation: a new active key; old rows still open with theirs.
  const rotated = keysWith('k2', [['k1', k1], ['k2', key()]])
  t.equal(encrypt(rotated, 'x', 'cert-3').keyId, 'k2')
  t.equal(decrypt(rotated, 'k1', sealed.cipher, 'cert-1'), 'header.payload.signature')
  t.throws(() => decrypt(keysWith('k3', [['k3', key()]]), 'k1', sealed.cipher, 'cert-1'), /not configured/)
})

t.test('the blind index is keyed, stable, and case-normalised', async (t) => {
  const blind = key()
  const a = keysWith('k', [['k', key()]], blind)
  const b = keysWith('k', [['k', key()]], blind)
  t.equal(holderIndex(a, '111', '11010519491231002X'), holderIndex(b, '111', '11010519491231002x'))
  t.not(holderIndex(a, '111', '11010519491231002X'), holderIndex(a, '001', '11010519491231002X'), 'the ID type is part of it')
  t.not(holderIndex(a, '111', '11010519491231002X'), holderIndex(keysWith('k', [['k', key()]]), '111', '11010519491231002X'), 'another key, another index')
  t.notMatch(holderIndex(a, '111', '11010519491231002X'), /110105/)
})

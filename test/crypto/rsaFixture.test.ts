import { createPrivateKey, createPublicKey } from 'node:crypto'
import t from 'tap'
import { DEV_CA_PRIVATE_KEY_FILE, generateDevPki, setRsaKeySource } from '../../src/crypto/devCa.js'
import { fixtureRsaKeyPems, useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The fixture keys the development PKIs of the tests take (test/helpers/rsaKeys.ts).

const pems = fixtureRsaKeyPems()
const spki = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64')

t.test('the fixture holds 64 distinct RSA-2048 keys with exponent 65537', async (t) => {
  t.equal(pems.length, 64)
  for (const pem of pems) {
    const key = createPrivateKey(pem)
    if (key.asymmetricKeyDetails?.modulusLength !== 2048 || key.asymmetricKeyDetails.publicExponent !== 0x10001n) t.fail('not RSA-2048 with exponent 65537')
  }
  t.equal(new Set(pems.map(spki)).size, 64, 'no key twice')
})

t.test('a process hands each fixture key out once, then generates', async (t) => {
  t.teardown(() => setRsaKeySource(undefined))
  useFixtureRsaKeys()
  const fixture = new Set(pems.map(spki))
  const roots: string[] = []
  // An empty issuer list: one RSA key per PKI, its root's.
  for (let i = 0; i < 65; i++) roots.push(spki((await generateDevPki([])).files[DEV_CA_PRIVATE_KEY_FILE] as string))
  t.equal(new Set(roots.slice(0, 64)).size, 64, 'the first 64 are 64 different keys')
  t.ok(roots.slice(0, 64).every((k) => fixture.has(k)), 'all from the fixture')
  t.notOk(fixture.has(roots[64]!), 'the 65th is generated')
})

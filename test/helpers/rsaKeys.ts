import { createPrivateKey, randomInt, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { generateRsaKey, setRsaKeySource } from '../../src/crypto/devCa.js'

// A development PKI (`zhengzhao keys`, generateDevPki) makes five RSA-2048 keys, about 0.25 s of
// CPU each, and the tests make one about fifteen times a run. The tests that are not about making
// keys take them instead from test/fixtures/rsa-2048-keys.pem: 64 keys made by
// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`, published for tests only.
// Each call of useFixtureRsaKeys (one per test file) hands each key out once, starting at a random
// one (files that share a PostgreSQL server rarely start on the same), and generates keys again
// when all are used.
// test/crypto/devCa.test.ts makes its PKIs with freshly generated keys.

const FILE = new URL('../fixtures/rsa-2048-keys.pem', import.meta.url)

let pems: string[] | undefined
let next = 0
let handedOut = 0

/** The fixture's keys, PEM, in the file's order. */
export function fixtureRsaKeyPems(): string[] {
  pems ??= readFileSync(FILE, 'utf8').match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/g) ?? []
  return pems
}

function poolKey(): KeyObject | undefined {
  const pems = fixtureRsaKeyPems()
  if (handedOut >= pems.length) return undefined
  if (handedOut === 0) next = randomInt(pems.length)
  const pem = pems[next]!
  next = (next + 1) % pems.length
  handedOut++
  return createPrivateKey(pem)
}

/** The development PKI takes its RSA keys from the fixture file from now on in this process, each once, then generates them. */
export function useFixtureRsaKeys(): void {
  handedOut = 0
  setRsaKeySource(async () => poolKey() ?? (await generateRsaKey()))
}

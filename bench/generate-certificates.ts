// Generates synthetic signed certificates for load tests: one compact JWS per line (.jwsl),
// signed with a development issuer key. Holders are synthetic ID numbers with valid check digits.
//
//   npx tsx bench/generate-certificates.ts --count 100000 --holders 50000 --out /tmp/certs.jwsl
//
// Defaults: the marriage-certificate type of the example catalogue and its development issuer
// key in keys.example/ (what `npm start` registers in development).
import { createPrivateKey, randomInt } from 'node:crypto'
import { createWriteStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CompactSign, calculateJwkThumbprint, exportJWK } from 'jose'
import { createPublicKey } from 'node:crypto'
import { EXAMPLE_KEYS_DIR } from '../src/config.js'
import { formatCertId, idNumberCheckChar } from '../src/ids/index.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    holders: { type: 'string', default: '50000' },
    out: { type: 'string', default: '/tmp/zhengzhao-certs.jwsl' },
    type: { type: 'string', default: '11100000000013338W011' },
    issuer: { type: 'string', default: '11330100MB1234567E' },
    key: { type: 'string' },
    seed: { type: 'string', default: String(Date.now()) },
  },
})
const count = Number(values.count)
const holders = Number(values.holders)
const keyPem = readFileSync(values.key ?? join(EXAMPLE_KEYS_DIR, `issuer-${values.issuer}.private.pem`), 'utf8')
const privateKey = createPrivateKey(keyPem)
const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)), 'sha256')
const alg = privateKey.asymmetricKeyType === 'rsa' ? 'RS256' : privateKey.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256'

/** The n-th synthetic holder: a valid ID number, born 1950–1999, region 110101. */
export function syntheticHolder(n: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + (n % 18000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')
  const body = `110101${birth}${String(Math.floor(n / 18000) % 1000).padStart(3, '0')}`
  return body + idNumberCheckChar(body)
}

const out = createWriteStream(values.out)
const started = Date.now()
const batchPrefix = `G${values.seed.slice(-6)}`
const inFlight: Promise<string>[] = []
for (let i = 0; i < count; i++) {
  const serial = `${batchPrefix}${String(i).padStart(8, '0')}`
  const payload = {
    id: formatCertId({ typeCode: values.type, issuerCode: values.issuer, serial, version: 1 }),
    typeCode: values.type,
    name: '结婚证',
    number: serial,
    holder: { idType: '111', id: syntheticHolder(randomInt(holders)), name: '测试持证人' },
    issuer: { code: values.issuer, name: '杭州市民政局' },
    issuedOn: '2024-05-20',
    validFrom: '2024-05-20',
    data: { registeredOn: '2024-05-20', spouseName: '测试配偶' },
  }
  // jose signs through WebCrypto on libuv's thread pool: keep a window of signatures in flight.
  inFlight.push(new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg, kid, typ: 'zhengzhao-cert+jws' }).sign(privateKey))
  if (inFlight.length >= 256 || i === count - 1) {
    for (const jws of await Promise.all(inFlight.splice(0))) {
      if (!out.write(`${jws}\n`)) await new Promise<void>((r) => out.once('drain', () => r()))
    }
  }
}
await new Promise<void>((resolve) => out.end(resolve))
const seconds = (Date.now() - started) / 1000
process.stderr.write(`wrote ${count} certificates (${alg}) to ${values.out} in ${seconds.toFixed(1)} s\n`)

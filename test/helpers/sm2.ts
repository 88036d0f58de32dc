import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openssl, opensslRun } from './pki.js'

// SM2 material made by the openssl command line, the reference: no code of ours signs or checks here.
// OpenSSL 3.0 signs SM2 with an empty distinguishing ID unless told, so the ID is always passed.
export const DIST_ID = '1234567812345678'

function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'zz-sm2-'))
  try {
    return fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function opensslSm2Key(): { privateKeyPem: string; publicKeyPem: string } {
  return inTemp((dir) => {
    openssl(['genpkey', '-algorithm', 'SM2', '-out', join(dir, 'k.pem')], ['pkey', '-in', join(dir, 'k.pem'), '-pubout', '-out', join(dir, 'p.pem')])
    return { privateKeyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), publicKeyPem: readFileSync(join(dir, 'p.pem'), 'utf8') }
  })
}

/** openssl's DER SM2-with-SM3 signature of `data`; `distId` '' signs with OpenSSL's default empty ID. */
export function opensslSm2Sign(data: Buffer | string, privateKeyPem: string, distId = DIST_ID): Buffer {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'in'), data)
    writeFileSync(join(dir, 'k.pem'), privateKeyPem)
    const id = distId === '' ? [] : ['-sigopt', `distid:${distId}`]
    openssl(['dgst', '-sm3', '-sign', join(dir, 'k.pem'), ...id, '-out', join(dir, 'sig'), join(dir, 'in')])
    return readFileSync(join(dir, 'sig'))
  })
}

/** Whether openssl accepts a DER SM2 signature of `data` by the public key. */
export function opensslSm2Verifies(data: Buffer | string, derSignature: Uint8Array, publicKeyPem: string): boolean {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'in'), data)
    writeFileSync(join(dir, 'sig'), derSignature)
    writeFileSync(join(dir, 'p.pem'), publicKeyPem)
    const run = opensslRun(['dgst', '-sm3', '-verify', join(dir, 'p.pem'), '-sigopt', `distid:${DIST_ID}`, '-signature', join(dir, 'sig'), join(dir, 'in')])
    return run.status === 0 && /Verified OK/.test(run.stdout.toString())
  })
}

/** DER SEQUENCE { r, s } to 64 bytes r ‖ s, by hand (lengths below 128 only, as SM2's are). */
export function derToRaw(der: Buffer): Buffer {
  const int = (at: number): [Buffer, number] => {
    if (der[at] !== 0x02) throw new Error('not an INTEGER')
    const len = der[at + 1]!
    const v = der.subarray(at + 2, at + 2 + len)
    const trimmed = v[0] === 0 ? v.subarray(1) : v
    return [Buffer.concat([Buffer.alloc(32 - trimmed.length), trimmed]), at + 2 + len]
  }
  const [r, next] = int(2)
  const [s] = int(next)
  return Buffer.concat([r, s])
}

/** DER from 64 bytes r ‖ s, by hand (the form openssl reads). */
export function rawToDer(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let v = b
    while (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) v = v.subarray(1)
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v])
    return Buffer.concat([Buffer.from([0x02, v.length]), v])
  }
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')

/** A certificate JWS with `alg: SM2` assembled by hand and signed by openssl (DER converted to r ‖ s). */
export function opensslSm2Jws(payload: unknown, header: Record<string, unknown>, privateKeyPem: string, distId = DIST_ID): string {
  const input = `${b64url(JSON.stringify({ typ: 'zhengzhao-cert+jws', ...header }))}.${b64url(JSON.stringify(payload))}`
  return `${input}.${b64url(derToRaw(opensslSm2Sign(input, privateKeyPem, distId)))}`
}

import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Checks a signed checkpoint's Ed25519 signature line with the openssl CLI alone (C2SP signed
 * note: the signature covers the note text up to the blank line; the first 4 bytes of the base64
 * are the key ID). `alter` changes the text first, to show openssl refuses it.
 */
export function opensslVerifiesCheckpoint(note: string, publicKeyPem: string, alter?: (text: string) => string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'zz-openssl-note-'))
  const split = note.lastIndexOf('\n\n')
  const text = note.slice(0, split + 1)
  const line = note.slice(split + 2).split('\n')[0]!
  const signature = Buffer.from(line.split(' ')[2]!, 'base64').subarray(4)
  writeFileSync(join(dir, 'pub.pem'), publicKeyPem)
  writeFileSync(join(dir, 'text'), alter ? alter(text) : text)
  writeFileSync(join(dir, 'sig'), signature)
  try {
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'text'), '-sigfile', join(dir, 'sig')], { stdio: 'pipe' })
    return out.toString().includes('Signature Verified Successfully')
  } catch {
    return false
  }
}

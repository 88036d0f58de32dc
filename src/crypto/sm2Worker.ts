import { verifySm2Jws } from './sm2Jws.js'
import { sm2PublicKeyFromCoordinates, type Sm2PublicKey } from './sm2.js'

/**
 * The worker side of crypto/sm2Pool.ts: one SM2 JWS verification per task. Keys arrive as their
 * 64 bytes x ‖ y in hex and are parsed once per thread (point check and Z_A); crypto/sm2.ts keeps
 * the precomputed tables per thread too, which is why the pool has no more threads than cores.
 */

export interface Sm2Task {
  jws: string
  /** x ‖ y, 128 hex digits. */
  key: string
}

// Bounded like the main thread's key cache: issuers are few, a flood of keys must not grow it.
const MAX_KEYS = 1000
const keys = new Map<string, Sm2PublicKey | undefined>()

function keyOf(hex: string): Sm2PublicKey | undefined {
  if (keys.has(hex)) return keys.get(hex)
  let key: Sm2PublicKey | undefined
  try {
    const xy = Buffer.from(hex, 'hex')
    key = xy.length === 64 ? sm2PublicKeyFromCoordinates(xy.subarray(0, 32), xy.subarray(32)) : undefined
  } catch {
    key = undefined
  }
  if (keys.size >= MAX_KEYS) keys.clear()
  keys.set(hex, key)
  return key
}

/** Whether the task's JWS carries a valid SM2 signature by its key. Never throws. */
export default function verifySm2Task(task: Sm2Task): boolean {
  try {
    const key = typeof task?.jws === 'string' && typeof task.key === 'string' ? keyOf(task.key) : undefined
    return key ? verifySm2Jws(task.jws, key) : false
  } catch {
    return false
  }
}

import type { KeyObject } from 'node:crypto'
import type { ServiceKeys } from '../crypto/serviceKeys.js'
import type { Db } from '../db/client.js'
import { noteSigner, type NoteSigner } from './note.js'
import { createLogStore, type AppendedLeaf, type LogStore, type StoredCheckpoint } from './store.js'

export interface Integrated {
  checkpoint: StoredCheckpoint
  appended: Map<number, AppendedLeaf>
}

/**
 * Brings committed events into the tree. Calls coalesce: while an append runs, every caller that
 * arrives waits for the next one (which must start after its event committed), and that one
 * append takes them all — one signed checkpoint per group, not per event.
 */
export interface TransparencyLog {
  store: LogStore
  origin: string
  /**
   * Resolves with a checkpoint that includes every event committed before the call, and the
   * events this process appended meanwhile with their proofs (an event another process appended
   * is not among them: its proof is read from the store).
   */
  integrate(): Promise<Integrated>
}

/** Every service key signs checkpoints (rotation: verifiers pick the keys they know). */
export function noteSignersOf(keys: ServiceKeys): NoteSigner[] {
  return keys.all.map((k) => noteSigner(k.kid, k.alg, k.privateKey as KeyObject, k.sm2))
}

export function createTransparencyLog(db: Db, opts: { origin: string; serviceKeys: ServiceKeys }): TransparencyLog {
  const store = createLogStore(db, { origin: opts.origin, signers: noteSignersOf(opts.serviceKeys) })
  let waiting: { resolve: (c: Integrated) => void; reject: (e: unknown) => void }[] = []
  let busy = false

  async function runToEnd(): Promise<Integrated> {
    const appended = new Map<number, AppendedLeaf>()
    for (;;) {
      const result = await store.appendPending()
      for (const [id, leaf] of result.appended) appended.set(id, leaf)
      if (!result.full) return { checkpoint: result.checkpoint, appended }
    }
  }

  // Callers that arrive during a run wait for the next one, which starts after their call.
  async function pump(): Promise<void> {
    busy = true
    while (waiting.length > 0) {
      const group = waiting
      waiting = []
      try {
        const checkpoint = await runToEnd()
        for (const w of group) w.resolve(checkpoint)
      } catch (err) {
        for (const w of group) w.reject(err)
      }
    }
    busy = false
  }

  return {
    store,
    origin: opts.origin,
    integrate() {
      return new Promise<Integrated>((resolve, reject) => {
        waiting.push({ resolve, reject })
        if (!busy) void pump()
      })
    },
  }
}

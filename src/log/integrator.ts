import type { KeyObject } from 'node:crypto'
import type { ServiceKeys } from '../crypto/serviceKeys.js'
import type { Db } from '../db/client.js'
import { noteSigner, type NoteSigner } from './note.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import type { FirstVersionRow } from '../certificates/firstVersions.js'
import { createLogStore, type LogStore, type NewEvent, type NewEventsResult, type StoredCheckpoint } from './store.js'

export interface Integrated {
  checkpoint: StoredCheckpoint
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
   * Resolves with a checkpoint that includes every event committed before the call. (Its callers
   * only wait: an answer that shows a proof reads it from the store.)
   */
  integrate(): Promise<Integrated>
  /**
   * Writes new events and appends them in one statement (the access log's path): resolves with
   * their ids, leaves and proofs once they are durable and in a signed checkpoint. Concurrent
   * calls share one statement.
   *
   * With `certificates`: first versions stored in that same statement, each with its issuance
   * event among `events` (a push, src/certificates/repository.ts). Either all of them are stored
   * or the call rejects with IssuanceNotStored and nothing of it was written. Their leaves come
   * back without inclusion proofs (`proof` empty): a push's answer shows none.
   */
  append(events: NewEvent[], certificates?: FirstVersionRow[]): Promise<NewEventsResult>
}

// Most new events one statement writes and appends.
const MAX_NEW = 1000

interface Fresh {
  events: NewEvent[]
  certificates: FirstVersionRow[]
  resolve: (r: NewEventsResult) => void
  reject: (e: unknown) => void
}

/** Every service key signs checkpoints (rotation: verifiers pick the keys they know). */
export function noteSignersOf(keys: ServiceKeys): NoteSigner[] {
  return keys.all.map((k) => noteSigner(k.kid, k.alg, k.privateKey as KeyObject, k.sm2))
}

export function createTransparencyLog(db: Db, opts: { origin: string; serviceKeys: ServiceKeys }): TransparencyLog {
  const store = createLogStore(db, { origin: opts.origin, signers: noteSignersOf(opts.serviceKeys) })
  let waiting: { resolve: (c: Integrated) => void; reject: (e: unknown) => void }[] = []
  let fresh: Fresh[] = []
  let busy = false

  async function runToEnd(): Promise<Integrated> {
    for (;;) {
      const result = await store.appendPending()
      if (!result.full) return { checkpoint: result.checkpoint }
    }
  }

  // Batches from several callers in one statement; if it fails for another reason than an
  // outage, the batches without certificates are tried together again, and each one with
  // certificates alone (a push of a series already stored fails its own batch, not its
  // neighbours'); a group of plain batches that fails again is tried one by one, so one caller's
  // bad row does not fail the others.
  async function runFresh(batches: Fresh[]): Promise<void> {
    let pendingSeen = false
    const settle = async (group: Fresh[]): Promise<void> => {
      const result = await store.appendNew(
        group.flatMap((b) => b.events),
        group.flatMap((b) => b.certificates),
        group.flatMap((b) => b.events.map(() => b.certificates.length === 0)),
      )
      pendingSeen ||= result.pendingSeen
      let at = 0
      for (const b of group) {
        const n = b.events.length
        b.resolve({ ...result, ids: result.ids.slice(at, at + n), leaves: result.leaves.slice(at, at + n) })
        at += n
      }
    }
    const alone = (b: Fresh) => settle([b]).catch((err: unknown) => b.reject(err))
    const apart = async (group: Fresh[], err: unknown): Promise<void> => {
      if (group.length === 1 || isDatabaseUnavailable(err)) for (const b of group) b.reject(err)
      else for (const b of group) await alone(b)
    }
    try {
      await settle(batches)
    } catch (err) {
      const plain = batches.filter((b) => b.certificates.length === 0)
      if (plain.length === batches.length || plain.length === 0 || isDatabaseUnavailable(err)) await apart(batches, err)
      else {
        await settle(plain).catch((again: unknown) => apart(plain, again))
        for (const b of batches) if (b.certificates.length > 0) await alone(b)
      }
    }
    // Events another path left outside the tree (a crash between write and append): take them now.
    if (pendingSeen) waiting.push({ resolve: () => {}, reject: () => {} })
  }

  // Callers that arrive during a run wait for the next one, which starts after their call.
  async function pump(): Promise<void> {
    busy = true
    while (waiting.length > 0 || fresh.length > 0) {
      if (fresh.length > 0) {
        const batches: Fresh[] = []
        let count = 0
        while (fresh.length > 0 && (batches.length === 0 || count + fresh[0]!.events.length <= MAX_NEW)) {
          const b = fresh.shift()!
          batches.push(b)
          count += b.events.length
        }
        await runFresh(batches)
      }
      // Then the callers of integrate(), so a steady flow of new events cannot starve them.
      if (waiting.length === 0) continue
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
    append(events, certificates = []) {
      return new Promise<NewEventsResult>((resolve, reject) => {
        fresh.push({ events, certificates, resolve, reject })
        if (!busy) void pump()
      })
    },
  }
}

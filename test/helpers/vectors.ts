import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

// Test vectors made by others live beside the project, never in it (../shared/vectors, or
// ZHENGZHAO_VECTORS, which .ci/run sets after checking the folder is there).
export const VECTORS_DIR = resolve(process.env.ZHENGZHAO_VECTORS ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'vectors'))

/** The vector file's bytes, or undefined when the folder is absent (then the caller skips, naming the path). */
export function vector(...path: string[]): Buffer | undefined {
  const file = join(VECTORS_DIR, ...path)
  return existsSync(file) ? readFileSync(file) : undefined
}

export const vectorsPresent = (sub: string): boolean => existsSync(join(VECTORS_DIR, sub))
export const skipMessage = (sub: string): string => `the outside test vectors are not at ${join(VECTORS_DIR, sub)} (a fresh clone has no ../shared): skipped`

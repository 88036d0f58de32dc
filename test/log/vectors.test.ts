import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { verifyConsistency, verifyInclusion } from '../../src/log/merkle.js'
import { skipMessage, VECTORS_DIR, vectorsPresent } from '../helpers/vectors.js'

// transparency-dev/merkle's testdata (../shared/vectors/merkle): a verifier is right only when every
// file gives exactly its wantErr.
const b64 = (s: string | null | undefined): Buffer => Buffer.from(s ?? '', 'base64')

function cases(kind: 'inclusion' | 'consistency'): { file: string; data: Record<string, unknown> }[] {
  const root = join(VECTORS_DIR, 'merkle', kind)
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: `${kind}/${f}`, data: JSON.parse(readFileSync(join(root, f), 'utf8')) as Record<string, unknown> }))
}

t.test('RFC 9162 reference vectors', { skip: vectorsPresent('merkle') ? false : skipMessage('merkle') }, async (t) => {
  const inclusion = cases('inclusion')
  const consistency = cases('consistency')
  t.equal(inclusion.length + consistency.length, 196, 'all 196 cases are read')
  for (const { file, data } of inclusion) {
    const proof = ((data.proof as string[] | null) ?? []).map(b64)
    const result = verifyInclusion(data.leafIdx as number, data.treeSize as number, b64(data.leafHash as string), proof, b64(data.root as string))
    t.equal(!result.ok, data.wantErr, `${file}: ${data.desc}${result.ok ? '' : ` (${result.reason})`}`)
  }
  for (const { file, data } of consistency) {
    const proof = ((data.proof as string[] | null) ?? []).map(b64)
    const result = verifyConsistency(data.size1 as number, data.size2 as number, proof, b64(data.root1 as string), b64(data.root2 as string))
    t.equal(!result.ok, data.wantErr, `${file}: ${data.desc}${result.ok ? '' : ` (${result.reason})`}`)
  }
})

import fc from 'fast-check'
import t from 'tap'
import { createHash } from 'node:crypto'
import { append, consistencyRanges, foldRange, hashLeaf, inclusionRanges, rangeNodes, rootOf, verifyConsistency, verifyInclusion, type Range } from '../../src/log/merkle.js'

/**
 * RFC 9162 §2.1.1's MTH of leaves [start, end), written from the definition rather than with the
 * module's append: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of
 * two below n. Complete subtrees are remembered in `memo`, so the root of each next prefix costs a
 * few hashes where recomputing it whole cost n (a 1,000-leaf tree's 1,000 roots took seconds).
 */
function mth(leafHashes: readonly Buffer[], start: number, end: number, memo: Map<string, Buffer>): Buffer {
  if (end - start === 1) return leafHashes[start]!
  const complete = ((end - start) & (end - start - 1)) === 0
  const key = `${start}:${end}`
  const known = complete ? memo.get(key) : undefined
  if (known) return known
  let k = 1
  while (k * 2 < end - start) k *= 2
  const hash = createHash('sha256').update(Buffer.of(1)).update(mth(leafHashes, start, start + k, memo)).update(mth(leafHashes, start + k, end, memo)).digest()
  if (complete) memo.set(key, hash)
  return hash
}

// A tree grown by appends in random batches, every stored node kept: what the database holds.
function grow(batches: number[]): { nodes: Map<string, Buffer>; leaves: Buffer[]; roots: Buffer[] } {
  const nodes = new Map<string, Buffer>()
  const leaves: Buffer[] = []
  const roots: Buffer[] = [createHash('sha256').digest()] // MTH({}): SHA-256 of nothing
  const memo = new Map<string, Buffer>()
  let size = 0
  for (const count of batches) {
    const fresh = Array.from({ length: count }, (_, i) => hashLeaf(Buffer.from(`leaf ${size + i}`)))
    const frontierHashes = frontierOf(nodes, size)
    const out = append(size, frontierHashes, fresh)
    for (const n of out.nodes) nodes.set(`${n.level}:${n.index}`, n.hash)
    const all = [...leaves, ...fresh]
    for (let i = 0; i < count; i++) roots.push(mth(all, 0, size + i + 1, memo))
    leaves.push(...fresh)
    size = out.size
    t.ok(out.root.equals(roots[size]!), `root after the batch equals the recomputed root of ${size}`)
  }
  return { nodes, leaves, roots }
}

function frontierOf(nodes: Map<string, Buffer>, size: number): Buffer[] {
  return rangeNodesOfFrontier(size).map((id) => nodes.get(`${id.level}:${id.index}`)!)
}
const rangeNodesOfFrontier = (size: number) => (size === 0 ? [] : rangeNodes({ start: 0, end: size }))

const hashOf = (nodes: Map<string, Buffer>, r: Range): Buffer => foldRange(rangeNodes(r).map((id) => nodes.get(`${id.level}:${id.index}`)!))

function mutations(proof: Buffer[]): Buffer[][] {
  const out: Buffer[][] = []
  proof.forEach((p, i) => {
    const flipped = Buffer.from(p)
    flipped[i % 32]! ^= 1
    out.push(proof.map((q, j) => (j === i ? flipped : q)))
    out.push(proof.filter((_, j) => j !== i))
  })
  out.push([...proof, Buffer.alloc(32)])
  if (proof.length > 1) out.push([...proof].reverse())
  return out.filter((m) => m.length !== proof.length || m.some((q, j) => !q.equals(proof[j]!)))
}

t.test('every inclusion and consistency proof of random trees verifies; every mutation fails', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), (batches) => {
      const { nodes, leaves, roots } = grow(batches)
      const n = leaves.length
      for (let size = 1; size <= n; size++) {
        for (let m = 0; m < size; m++) {
          const proof = inclusionRanges(m, size).map((r) => hashOf(nodes, r))
          if (!verifyInclusion(m, size, leaves[m]!, proof, roots[size]!).ok) return false
          for (const bad of mutations(proof)) if (verifyInclusion(m, size, leaves[m]!, bad, roots[size]!).ok) return false
          if (size > 1 && verifyInclusion((m + 1) % size, size, leaves[m]!, proof, roots[size]!).ok) return false
        }
        for (let m = 1; m < size; m++) {
          const proof = consistencyRanges(m, size).map((r) => hashOf(nodes, r))
          if (!verifyConsistency(m, size, proof, roots[m]!, roots[size]!).ok) return false
          for (const bad of mutations(proof)) if (verifyConsistency(m, size, bad, roots[m]!, roots[size]!).ok) return false
          if (verifyConsistency(m, size, proof, roots[m - 1]!, roots[size]!).ok && m > 1) return false
        }
      }
      return true
    }),
    { numRuns: 60 },
  )
})

t.test('a 1,000-leaf tree grown one leaf at a time equals the tree grown in one batch', async (t) => {
  const one = grow(Array.from({ length: 1000 }, () => 1))
  const all = grow([1000])
  t.ok(one.roots[1000]!.equals(all.roots[1000]!))
  t.ok(rootOf(one.leaves).equals(one.roots[1000]!), 'rootOf agrees with the definition')
  t.ok(rootOf([]).equals(one.roots[0]!), 'and for the empty tree')
  t.equal(one.nodes.size, all.nodes.size, 'the same complete subtrees are stored')
  t.equal(all.nodes.size, 1994, 'a complete subtree per node: 2n − popcount(n)')
})

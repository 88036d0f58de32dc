import { maskIdNumbersIn } from './io.js'
import type { BatchItemResult } from './pushClient.js'
import type { PushItem } from './pushInputs.js'

/** A rejected certificate, named by where it came from: never by its content. */
export interface Rejection {
  file: string
  line: number
  status: number
  code?: string
  id?: string
  problems: { code: string; pointer: string; message: string }[]
}

export interface PushSummary {
  total: number
  created: number
  unchanged: number
  rejected: number
  seconds: number
  perSecond: number
}

/** Tallies the answers batch by batch; rejections come out in input order whatever order batches finish in. */
export class PushTally {
  readonly counts = { created: 0, unchanged: 0, rejected: 0 }
  private readonly rejections: (Rejection & { ordinal: number })[] = []

  add(items: PushItem[], results: BatchItemResult[]): void {
    results.forEach((r, i) => {
      this.counts[r.outcome]++
      if (r.outcome !== 'rejected') return
      const item = items[i]!
      this.rejections.push({
        ordinal: item.ordinal,
        file: item.file,
        line: item.line,
        status: r.status,
        ...(r.code !== undefined ? { code: r.code } : {}),
        ...(r.id !== undefined ? { id: r.id } : {}),
        // Pointers relative to the certificate, not to its place in the request body.
        problems: (r.problems ?? []).map((p) => ({ code: p.code, pointer: p.pointer.replace(/^\/certificates\/\d+/, ''), message: maskIdNumbersIn(p.message) })),
      })
    })
  }

  get done(): number {
    return this.counts.created + this.counts.unchanged + this.counts.rejected
  }

  rejected(): Rejection[] {
    return [...this.rejections].sort((a, b) => a.ordinal - b.ordinal).map(({ ordinal: _, ...r }) => r)
  }

  summary(seconds: number): PushSummary {
    return { total: this.done, ...this.counts, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(this.done / Math.max(seconds, 0.001)) }
  }
}

/** The report for people: the counts, then one line per rejection with its codes. */
export function describePush(summary: PushSummary, rejections: Rejection[]): string {
  const lines = [
    `Pushed ${summary.total} certificate(s) in ${summary.seconds.toFixed(1)} s (${summary.perSecond}/s): ` +
      `${summary.created} created, ${summary.unchanged} unchanged, ${summary.rejected} rejected.`,
  ]
  if (rejections.length > 0) lines.push('Rejected:')
  for (const r of rejections) {
    const problems = r.problems.map((p) => (p.pointer ? `${p.code} at ${p.pointer}` : p.code))
    const what = [r.code ?? 'REJECTED', ...(r.id ? [`(${r.id})`] : [])].join(' ')
    lines.push(`  ${r.file}:${r.line}  ${r.status} ${what}${problems.length > 0 ? `: ${problems.join(', ')}` : ''}`)
  }
  return `${lines.join('\n')}\n`
}

import { ERRORS, type ErrorCode } from '../errors.js'
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

// Past this many, rejections are summarised by problem only (--json lists every one).
const LISTED_REJECTIONS = 50

/** The title of a code of ours, so a rejection without problems still says what it means. */
function titleOf(code: string | undefined): string | undefined {
  return code !== undefined && code in ERRORS ? ERRORS[code as ErrorCode].title : undefined
}

const problemLine = (p: Rejection['problems'][number]) => `${p.pointer ? `${p.pointer}  ` : ''}${p.code}: ${p.message}`

/**
 * The report for people: the counts, each rejection with every problem's code, pointer and
 * message, then the rejections grouped by problem ("3 × CERT_ID_INVALID at /payload/id: …"),
 * so a fault repeated on every line reads once.
 */
export function describePush(summary: PushSummary, rejections: Rejection[]): string {
  const lines = [
    `Pushed ${summary.total} certificate(s) in ${summary.seconds.toFixed(1)} s (${summary.perSecond}/s): ` +
      `${summary.created} created, ${summary.unchanged} unchanged, ${summary.rejected} rejected.`,
  ]
  if (rejections.length > 0) lines.push('Rejected:')
  for (const r of rejections.slice(0, LISTED_REJECTIONS)) {
    const title = r.problems.length === 0 ? titleOf(r.code) : undefined
    const what = [r.code ?? 'REJECTED', ...(r.id ? [`(${r.id})`] : [])].join(' ')
    lines.push(`  ${r.file}:${r.line}  ${r.status} ${what}${title ? `: ${title}` : ''}`)
    for (const p of r.problems) lines.push(`      ${problemLine(p)}`)
  }
  if (rejections.length > LISTED_REJECTIONS) lines.push(`  … and ${rejections.length - LISTED_REJECTIONS} more (--json lists every one)`)
  const groups = groupByProblem(rejections)
  if (groups.some((g) => g.where.length > 1)) {
    lines.push('By problem:')
    for (const g of groups) {
      const shown = g.where.slice(0, 5).join(', ') + (g.where.length > 5 ? `, … ${g.where.length - 5} more` : '')
      lines.push(`  ${g.where.length} × ${g.code}${g.pointer ? ` at ${g.pointer}` : ''}: ${g.message} (${shown})`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** Rejections grouped by problem code and pointer, most frequent first; the first message stands for the group. */
function groupByProblem(rejections: Rejection[]): { code: string; pointer: string; message: string; where: string[] }[] {
  const groups = new Map<string, { code: string; pointer: string; message: string; where: string[] }>()
  for (const r of rejections) {
    const problems = r.problems.length > 0 ? r.problems : [{ code: r.code ?? 'REJECTED', pointer: '', message: titleOf(r.code) ?? `HTTP ${r.status}` }]
    for (const p of problems) {
      const key = `${p.code}\u0000${p.pointer}`
      const group = groups.get(key) ?? { code: p.code, pointer: p.pointer, message: p.message, where: [] }
      group.where.push(`${r.file}:${r.line}`)
      groups.set(key, group)
    }
  }
  return [...groups.values()].sort((a, b) => b.where.length - a.where.length)
}

import cliProgress from 'cli-progress'
import type { CliIo } from './io.js'

export interface Progress {
  advance(n: number): void
  /** A line for the person watching (a retry, say), without breaking the bar. */
  note(text: string): void
  stop(): void
}

const LINE_INTERVAL_MS = 5000

/**
 * Progress on stderr: a bar on a terminal, otherwise (a log file, CI) a plain line every ~5 s.
 * Only counts are shown, never what is being pushed.
 */
export function startProgress(io: CliIo, total: number, what: string): Progress {
  const started = Date.now()
  const rate = (done: number) => Math.round(done / Math.max((Date.now() - started) / 1000, 0.001))
  let done = 0

  if (io.progressTerminal) {
    const bar = new cliProgress.SingleBar(
      { stream: io.progressTerminal, format: `${what} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { rate: 0 })
    return {
      advance(n) {
        done += n
        bar.update(done, { rate: rate(done) })
      },
      note(text) {
        io.progressTerminal!.write(`\r\x1b[2K${text}\n`)
        bar.render()
      },
      stop: () => bar.stop(),
    }
  }

  const timer = setInterval(() => io.stderr(`${what}: ${done}/${total} (${total === 0 ? 100 : Math.floor((done / total) * 100)}%, ${rate(done)}/s)\n`), LINE_INTERVAL_MS)
  timer.unref()
  return {
    advance(n) {
      done += n
    },
    note: (text) => io.stderr(`${text}\n`),
    stop: () => clearInterval(timer),
  }
}

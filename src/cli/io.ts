import type { Readable } from 'node:stream'
import { maskIdNumbersIn } from '../ids/index.js'

/** Where a command reads its environment and writes its output: the process, or a test's buffers. */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: Record<string, string | undefined>
  cwd: string
  /** A terminal to draw progress bars on; absent when stderr is not a TTY (then progress is plain lines). */
  progressTerminal?: NodeJS.WriteStream
  /** What `-` reads; the process's stdin when absent. */
  stdin?: Readable
}

export function processIo(): CliIo {
  quietOnClosedPipe()
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    ...(process.stderr.isTTY ? { progressTerminal: process.stderr } : {}),
  }
}

// DESIGN.md §8: 0 valid/success, 1 the thing checked failed, 2 usage or environment error.
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2
/** Output went to a reader that closed its end (`| head -1`): 128 + SIGPIPE, what coreutils exit with then. */
export const EXIT_CLOSED_PIPE = 141

let pipeGuarded = false

/**
 * A reader that stops reading (`zhengzhao sign --help | head -1`) makes the next write fail with
 * EPIPE, which Node raises as an unhandled 'error' and a stack trace. Nothing more can be said to
 * that reader, so the command ends quietly with the status a shell's own tools give (pipefail sees
 * it; a plain pipeline reports the reader's). Any other write error is still raised.
 */
function quietOnClosedPipe(): void {
  if (pipeGuarded) return
  pipeGuarded = true
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT_CLOSED_PIPE)
      throw err
    })
  }
}

/** A command's failure, with its exit code; main prints the message to stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message)
  }
}

export function usageError(message: string): CliError {
  return new CliError(EXIT_USAGE, message)
}

export { maskIdNumbersIn }

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * A command as a test starts a program the way a user would (the server, the CLI, the README's
 * shell): without tap's hooks. tap loads @tapjs/processinfo (coverage and `tap --changed`
 * bookkeeping) into every node process a test starts, even one given an environment of its own:
 * it wraps child_process.spawn and writes its `--import` into the child's NODE_OPTIONS. That hook
 * routes every module the child loads through a loader thread: a compiled server's start took
 * 8.8-9.1 s of CPU with it and 6.4-6.9 s without (two runs each), and `node -e 0` 0.39 s against
 * 0.11 s. Going through `env` sets NODE_OPTIONS for the program after tap has edited env's own
 * environment; `env` execs the program, so the child's pid is the program's.
 */
export function untapped(command: string, args: readonly string[], nodeOptions = ''): [string, string[]] {
  return ['env', [`NODE_OPTIONS=${nodeOptions}`, command, ...args]]
}

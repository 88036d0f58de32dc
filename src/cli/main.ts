import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { COMMANDS, requestedCommand } from './commands.js'
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, maskIdNumbersIn, processIo, type CliIo } from './io.js'

function packageVersion(): string {
  // ../../package.json from both src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function buildProgram(io: CliIo, argv: readonly string[]): Promise<Command> {
  const program = new Command('zhengzhao')
    .description('Zhengzhao (证照) electronic certificate library: operator and developer tools')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    // Set before any subcommand is added, so every subcommand inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(maskIdNumbersIn(s)),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 the thing checked failed, 2 usage or environment error.

Examples:
  $ zhengzhao keys --out ./dev-keys
  $ zhengzhao issuer-cert --code 11330106MB12345688 --name 杭州市拱墅区民政局 --out-dir ./issuers
  $ zhengzhao token --role admin --org 11100000000013338W --sub ops-alice
  $ zhengzhao cert-id mint --type 11100000000013338W032 --issuer 11330105002500287C --serial 2025000001
  $ zhengzhao sign licence.json --key issuer.private.pem --out licence.jws
  $ ZHENGZHAO_TOKEN=$(zhengzhao token --role issuer --org 11330105002500287C --sub dept) zhengzhao push ./out/
  $ zhengzhao log verify --checkpoint saved.txt --url http://localhost:3000
  $ zhengzhao migrate
  $ zhengzhao seed --json
  $ zhengzhao help token`,
    )
  // Only the command that runs is loaded (commands.ts says why). The program's own help, its
  // version or an unknown name get every command listed from the table, none of them loaded.
  const wanted = requestedCommand(argv)
  if (wanted) (await wanted.load())(program, io)
  else {
    for (const c of COMMANDS) program.command(c.name).description(c.summary)
    const terms = new Map(COMMANDS.map((c) => [c.name, c.term]))
    program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? cmd.name() })
  }
  return program
}

/** Commander's own exits: help and version succeed, every parse error is a usage error. */
function commanderExitCode(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK
  if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
  return EXIT_USAGE
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and returns the exit code.
 * Never calls process.exit, so tests run it in-process with their own `io`.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const program = await buildProgram(io, argv)
  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) return commanderExitCode(err)
    if (err instanceof CliError) {
      io.stderr(`zhengzhao: ${maskIdNumbersIn(err.message)}\n`)
      return err.exitCode
    }
    io.stderr(`zhengzhao: ${maskIdNumbersIn((err as Error).message ?? String(err))}\n`)
    return EXIT_FAILED
  }
}

import { Command, Help } from 'commander'
import t from 'tap'
import { COMMANDS, requestedCommand } from '../../src/cli/commands.js'
import { runCli } from './fixtures/cli.js'

const io = { stdout: () => {}, stderr: () => {}, env: {}, cwd: process.cwd() }

t.test("the table lists each command as the command's own module declares it", async (t) => {
  const help = new Help()
  for (const entry of COMMANDS) {
    const program = new Command('zhengzhao')
    ;(await entry.load())(program, io)
    t.equal(program.commands.length, 1, `${entry.name}: its module registers one command`)
    const cmd = program.commands[0]!
    t.equal(cmd.name(), entry.name)
    t.equal(help.subcommandTerm(cmd), entry.term, `${entry.name}: term`)
    t.equal(help.subcommandDescription(cmd), entry.summary, `${entry.name}: summary (update commands.ts when a description changes)`)
  }
})

t.test('the program lists every command from the table, and runs the one named', async (t) => {
  const top = await runCli(['--help'])
  t.equal(top.code, 0)
  for (const entry of COMMANDS) t.match(top.stdout, new RegExp(`\\n  ${entry.term.replace(/[[\].]/g, '\\$&')} +${entry.summary.slice(0, 20).replace(/[()[\].]/g, '\\$&')}`), entry.name)
  t.equal(requestedCommand(['sign', 'x.json'])?.name, 'sign')
  t.equal(requestedCommand(['help', 'push'])?.name, 'push')
  t.equal(requestedCommand(['--help', 'push']), undefined, "the program's own --help")
  t.equal(requestedCommand(['nope']), undefined)
  const unknown = await runCli(['sgin'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command 'sgin'[\s\S]*Did you mean sign\?/, 'an unknown name is still told the nearest command')
  const sub = await runCli(['help', 'issuer-cert'])
  t.equal(sub.code, 0)
  t.match(sub.stdout, 'Usage: zhengzhao issuer-cert [options]')
})

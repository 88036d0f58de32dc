import { spawnSync } from 'node:child_process'
import t from 'tap'
import { untapped } from './helpers/untapped.js'

// Why the helper exists, and that it works: tap puts its hook into a node child's NODE_OPTIONS,
// even one given NODE_OPTIONS of its own; through untapped the child gets only what it is given.
const optionsOf = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(command, args, { encoding: 'utf8', env }).stdout.trim()
const PRINT = ['-e', 'process.stdout.write(process.env.NODE_OPTIONS ?? "(unset)")']

t.test('a plain spawn under tap carries tap\'s hook, even when told NODE_OPTIONS is empty', async (t) => {
  t.match(optionsOf(process.execPath, PRINT, { ...process.env, NODE_OPTIONS: '' }), /@tapjs\/processinfo/)
})

t.test('through untapped the child has no hook, or exactly the options given', async (t) => {
  t.equal(optionsOf(...untapped(process.execPath, PRINT)), '')
  t.equal(optionsOf(...untapped(process.execPath, PRINT, '--max-old-space-size=128')), '--max-old-space-size=128')
  const [command, args] = untapped('bash', ['-c', `${JSON.stringify(process.execPath)} ${PRINT.map((a) => `'${a}'`).join(' ')}`])
  t.equal(optionsOf(command, args), '', 'nor the programs a shell started that way runs')
})

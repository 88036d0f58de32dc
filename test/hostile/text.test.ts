// The boundary's text check and depth count as pure functions.
import t from 'tap'
import { nestingDepth, textProblems, unstorableText } from '../../src/schemas.js'

t.test('unstorableText: NUL and unpaired surrogates, nothing else', async (t) => {
  for (const bad of ['\u0000', 'a\u0000', '\ud800', '\udfff', 'x\ud83d', '\ude00x', '\ude00\ud83d']) t.type(unstorableText(bad), 'string', JSON.stringify(bad))
  for (const good of ['', '张三', '\ud83d\ude00', '\u0001\u001f\u007f', '\uffff', 'a\tb\n']) t.equal(unstorableText(good), undefined, JSON.stringify(good))
})

t.test('textProblems: a pointer per bad string or member name, escaped per RFC 6901', async (t) => {
  const problems = textProblems({ ok: ['fine'], 'a/b~': { c: ['x', 'y\u0000'] }, 'k\ud800': 1 }, '/body')
  t.same(problems.map((p) => p.pointer).sort(), ['/body/a~1b~0/c/1', '/body/k\ud800'])
  t.ok(problems.every((p) => p.code === 'UNSTORABLE_TEXT'))
  t.same(textProblems({ a: 'fine', b: [1, null, true] }, '/body'), [])
  t.equal(textProblems(Array.from({ length: 100 }, () => '\u0000'), '/q').length, 20, 'stops after 20')
})

t.test('deep values cost linear time and no stack', async (t) => {
  const n = 1_000_000
  const deep = JSON.parse('['.repeat(n) + '"\\u0000"' + ']'.repeat(n))
  const started = Date.now()
  const [problem] = textProblems(deep, '/body')
  t.equal(problem?.pointer.length, '/body'.length + 2 * n)
  t.equal(nestingDepth(deep, 32), 33, 'counting stops past the limit')
  t.equal(nestingDepth({ a: [{}] }, 32), 3)
  t.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`)
})

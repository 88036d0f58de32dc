import t from 'tap'
import { newVerificationCode } from '../../src/public/codes.js'
import { scanFixture } from './fixture.js'

// Ten thousand requests: about ten seconds alone, the heaviest file of its shard after the property
// test (test/shards/shard.ts weighs it so).
t.test('10,000 random codes find nothing, among real ones', async (t) => {
  const f = await scanFixture(t)
  const real = new Set<string>()
  for (let i = 0; i < 5; i++) real.add((await f.issue()).code)
  let found = 0
  let answered = 0
  for (let batch = 0; batch < 100; batch++) {
    const guesses = Array.from({ length: 100 }, newVerificationCode).filter((c) => !real.has(c))
    const answers = await Promise.all(guesses.map((code) => f.app.inject({ method: 'GET', url: `/v1/public/verification/${code}` })))
    for (const res of answers) {
      answered++
      if (res.statusCode !== 404) found++
    }
  }
  t.equal(answered, 10_000)
  t.equal(found, 0, 'every guess is 404')
  for (const code of real) t.equal((await f.app.inject({ method: 'GET', url: `/v1/public/verification/${code}` })).statusCode, 200, 'while the real codes answer')
})

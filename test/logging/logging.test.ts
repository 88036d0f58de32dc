import t from 'tap'
import { maskPersonalData } from '../../src/logging.js'
import { bearer, buildTestApp, logCapture, randomTypeCode } from '../helpers/app.js'

const ID = '11010519491231002X'
const NAME = '张三丰'

t.test('no ID number, name or token reaches the log', async (t) => {
  const logs = logCapture()
  const app = await buildTestApp(t, { LOG_LEVEL: 'trace' }, { logStream: logs.stream })
  const admin = await bearer(['admin'])
  const token = admin.authorization.slice('Bearer '.length)

  // A body carrying personal data, on a route that rejects it (validation echoes nothing).
  const rejected = await app.inject({
    method: 'PUT',
    url: `/v1/types/${randomTypeCode()}`,
    headers: { ...admin, 'x-holder': ID, 'user-agent': `agent ${ID}` },
    payload: { name: NAME, holder: { idType: '111', id: ID, name: NAME }, holderIdTypes: ['111'], dataSchema: { type: 'object' }, issuers: [] },
  })
  t.equal(rejected.statusCode, 400)
  t.notMatch(rejected.body, ID, 'not in the error response either')
  // A body carrying personal data, accepted.
  const accepted = await app.inject({
    method: 'PUT',
    url: `/v1/types/${randomTypeCode()}`,
    headers: admin,
    payload: { name: NAME, description: `holder ${ID}`, holderIdTypes: ['111'], dataSchema: { type: 'object' }, issuers: [] },
  })
  t.equal(accepted.statusCode, 201)
  app.log.info({ holder: { id: ID, name: NAME } }, 'a careless log line')
  app.log.info(`another careless line about ${ID}`)

  const out = logs.text()
  t.ok(out.includes('incoming request'), 'requests were logged at all')
  t.ok(out.includes('"requestId"'), 'with request ids')
  t.notOk(out.includes(ID), 'no ID number')
  t.notOk(out.includes(NAME), 'no name')
  t.notOk(out.includes(token), 'no bearer token')
  t.ok(out.includes('110105********002X'), 'ID numbers in messages are masked, not dropped silently')
})

t.test('maskPersonalData', async (t) => {
  t.equal(maskPersonalData(`id ${ID} and 440524188001010014.`), 'id 110105********002X and 440524********0014.')
  t.equal(maskPersonalData('lower x 11010519491231002x'), 'lower x 110105********002X')
  t.equal(maskPersonalData('credit code 11330105002500287C stays'), 'credit code 11330105002500287C stays')
  t.equal(maskPersonalData('a 19-digit number 1234567890123456789 is not an ID'), 'a 19-digit number 1234567890123456789 is not an ID')
})

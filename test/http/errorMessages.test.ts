import t from 'tap'
import { bearer, buildTestApp } from '../helpers/app.js'

const ID = '11010519491231002X'

t.test('errors a person can act on', async (t) => {
  const app = await buildTestApp(t)
  const auth = await bearer(['reader'])
  const verify = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth, 'content-type': contentType }, payload })

  t.test('415 says application/json is expected and what was sent', async (t) => {
    const res = await verify('id=1', 'application/x-www-form-urlencoded')
    t.equal(res.statusCode, 415)
    t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
    t.equal(res.json().detail, 'Send the body as JSON with Content-Type: application/json; this request sent Content-Type: application/x-www-form-urlencoded')
  })

  t.test('invalid JSON names the line and column, never the text around it', async (t) => {
    const res = await verify(`{\n  "holder": {"id": "${ID}"},\n  "id": tru\n}`)
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_JSON')
    t.equal(res.json().detail, 'The request body is not valid JSON at line 3, column 12')
    t.notMatch(res.body, ID)
    const empty = await verify('')
    t.equal(empty.json().code, 'INVALID_JSON')
    t.match(empty.json().detail, /body is empty/)
    const poisoned = await verify('{"__proto__": {"x": 1}}')
    t.equal(poisoned.statusCode, 400, 'prototype poisoning still refused')
  })

  t.test('a wrong all-digit credit code is shown as sent, not masked as an ID number', async (t) => {
    const res = await app.inject({ method: 'PUT', url: '/v1/grants/913301050025002871', headers: await bearer(['admin']), payload: { name: 'x', grants: [] } })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_ORG_CODE')
    t.equal(res.json().instance, '/v1/grants/913301050025002871')
    const id = await app.inject({ method: 'GET', url: `/v1/certificates/${ID}`, headers: auth })
    t.notMatch(res.body + id.body, ID, 'an ID number in a path is still masked')
    t.match(id.body, /110105\*{8}002X/)
  })

  t.test('a wrong property on /v1/verify answers the form the body meant, not every anyOf branch', async (t) => {
    const byId = await verify(JSON.stringify({ id: 'x', certficate: 'y' }))
    t.equal(byId.statusCode, 400)
    t.equal(byId.json().code, 'VALIDATION_FAILED')
    t.same(byId.json().errors, [{ pointer: '/body/certficate', code: 'additionalProperties', message: 'must NOT have additional properties' }])
    const printed = await verify(JSON.stringify({ typeCode: '11100000000013338W032', number: 'A1' }))
    t.same(printed.json().errors.map((e: { pointer: string; code: string }) => `${e.code} ${e.pointer}`), ['required /body/holder'])
    const typed = await verify(JSON.stringify({ certificate: 5 }))
    t.same(typed.json().errors.map((e: { pointer: string; code: string }) => `${e.code} ${e.pointer}`), ['type /body/certificate'])
    const none = await verify(JSON.stringify({ foo: 1 }))
    t.equal(none.json().errors.length, 1)
    t.match(none.json().errors[0], { pointer: '/body', code: 'anyOf', message: 'must be one of the forms {certificate}, {document}, {id}, {typeCode, number, holder}' })
  })
})

import t from 'tap'
import { createTypeAndIssuerReader } from '../../src/certificates/pushReader.js'
import { createIssuerRepository } from '../../src/issuers/repository.js'
import { createTypeRepository } from '../../src/types/repository.js'
import { randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

// A push reads its type and its issuer (with keys) in one statement; each answer must be what
// the two separate reads give, whichever of the two exists.

t.test('the type and the issuer read together equal the two reads apart, whichever exists', async (t) => {
  const f = await issuanceFixture(t)
  const read = createTypeAndIssuerReader(f.database.db)
  const types = createTypeRepository(f.database.db)
  const issuers = createIssuerRepository(f.database.db)

  // A second key, registered later: the keys come oldest first, as issuers.get gives them.
  const second = f.pki.issue({ keyType: 'p256' })
  const added = await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: second.chainPem } })
  t.equal(added.statusCode, 201, 'a second key is registered')

  const both = await read(f.typeCode, f.issuerCode)
  t.same(both.type, await types.get(f.typeCode), 'the type, as the type read gives it')
  t.same(both.issuer, await issuers.get(f.issuerCode), 'the issuer and its keys, as the issuer read gives them')
  t.same(both.issuer?.keys.map((k) => k.kid), [f.key.kid, second.kid], 'both keys, oldest first')

  const unknownType = randomTypeCode()
  const unknownIssuer = randomCreditCode()
  t.same(await read(unknownType, f.issuerCode), { type: undefined, issuer: await issuers.get(f.issuerCode) }, 'an unknown type: the issuer still comes')
  t.same(await read(f.typeCode, unknownIssuer), { type: await types.get(f.typeCode), issuer: undefined }, 'an unknown issuer: the type still comes')
  t.same(await read(unknownType, unknownIssuer), { type: undefined, issuer: undefined }, 'neither')
})

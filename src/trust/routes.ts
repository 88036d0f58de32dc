import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { Config } from '../config.js'
import { serviceJwks, signServiceJws, TRUST_BUNDLE_TYP } from '../crypto/serviceKeys.js'
import type { Db } from '../db/client.js'
import { authErrors } from '../schemas.js'
import { createTypeRepository } from '../types/repository.js'
import { buildTrustBundle } from './bundle.js'
import { listIssuersWithKeys, listNotValid } from './repository.js'

const Jwk = Type.Object(
  {
    kty: Type.String(),
    kid: Type.String({ description: 'RFC 7638 SHA-256 thumbprint' }),
    alg: Type.String(),
    use: Type.String(),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

export const Jwks = Type.Object({ keys: Type.Array(Jwk) }, { $id: 'Jwks', description: 'The service\'s public signing keys (RFC 7517); the first signs, the others still verify' })

export const TrustBundleResponse = Type.Object(
  {
    bundle: Type.String({
      description:
        'compact JWS (typ zhengzhao-trust-bundle+jws) signed by the service key; its payload is { iss, iat, anchors: [PEM], issuers: [{ code, name, typeCodes, keys: [{ kid, algorithms, publicKeyPem, jwk (an SM2 key as {crv: SM2, kty: EC, x, y}), chainPem, activeFrom, retiredAt?, compromisedAt?, notBefore, notAfter }] }], types: [{ typeCode, name, holderIdTypes, issuers }], creditCodeExceptions, certIdCheckExceptions?, status: { revoked, suspended, superseded: [{ head, ids, since, sm3? }] } }. `status` lists every certificate not valid at iat: identifier (head + each of ids), since (seconds), the SM3 of its sealed OFD file ("" for none); nothing about the holder',
    }),
  },
  { $id: 'TrustBundle' },
)

/** The service's public keys, and the signed trust bundle offline verifiers work from. */
export const trustRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const types = createTypeRepository(db)
  app.addSchema(Jwks)
  app.addSchema(TrustBundleResponse)

  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['trust'], operationId: 'getJwks', security: [], summary: 'The service\'s public signing keys (receipts, trust bundles, checkpoints)', response: { 200: Jwks } } },
    async (_request, reply) => {
      // Public and rarely changing; a short cache still lets a rotation show up within minutes.
      reply.header('cache-control', 'public, max-age=300')
      // parseServiceKeys sets kid, alg and use on every key; jose's JWK type leaves them optional.
      return serviceJwks(config.serviceKeys) as Static<typeof Jwks>
    },
  )

  app.get(
    '/v1/trust-bundle',
    {
      onRequest: app.auth(),
      schema: {
        tags: ['trust'],
        operationId: 'getTrustBundle',
        summary: 'Everything an offline verifier needs, signed by the service (any authenticated caller)',
        description:
          'Trust anchors, every issuer with all its keys and their windows, the catalogue, and the status of every certificate that is not valid (revoked, suspended, superseded) as of the bundle\'s iat. Verify it with /.well-known/jwks.json; `zhengzhao verify --bundle` reads it and prints "status as of" that time.',
        security: [{ bearer: [] }],
        response: { 200: TrustBundleResponse, ...authErrors() },
      },
    },
    async () => {
      // The instant is taken before reading: every change committed by then is in what is read,
      // so "status as of iat" is true (a later one may be in too, which only tells more).
      const now = new Date()
      const [issuers, catalogue, statuses] = await Promise.all([listIssuersWithKeys(db), types.list(), listNotValid(db)])
      const payload = buildTrustBundle({ anchors: config.trustAnchors, issuers, types: catalogue, creditCodeExceptions: config.creditCodeExceptions, certIdCheckExceptions: config.certIdCheckExceptions, statuses }, now)
      return { bundle: await signServiceJws(config.serviceKeys, payload, TRUST_BUNDLE_TYP) }
    },
  )
}

import { createPublicKey, type X509Certificate } from 'node:crypto'
import { publicJwk } from '../crypto/keys.js'
import { Type, type Static } from '@sinclair/typebox'
import type { TrustKey } from '../verify/trust.js'
import { buildStatusList, StatusList, type StatusRow } from './statusList.js'

// The trust bundle: everything an offline verifier needs, signed by the service
// (typ zhengzhao-trust-bundle+jws). Dates are ISO 8601 instants.

const Instant = Type.String({ format: 'date-time' })

export const TrustBundleKey = Type.Object({
  kid: Type.String({ minLength: 1 }),
  algorithms: Type.Array(Type.String()),
  publicKeyPem: Type.String({ minLength: 1 }),
  jwk: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'the public key as a JWK; an SM2 key is {"kty":"EC","crv":"SM2","x","y"} (32-byte coordinates), whose RFC 7638 thumbprint is the kid',
    }),
  ),
  chainPem: Type.String({ minLength: 1 }),
  activeFrom: Instant,
  retiredAt: Type.Optional(Instant),
  compromisedAt: Type.Optional(Instant),
  notBefore: Instant,
  notAfter: Instant,
})

export const TrustBundlePayload = Type.Object({
  iss: Type.Literal('zhengzhao'),
  iat: Type.Integer({ description: 'when the bundle was made (seconds since the epoch): it knows of no key revoked and no status changed later' }),
  anchors: Type.Array(Type.String(), { minItems: 1, description: 'PEM certificates of the trust anchors' }),
  issuers: Type.Array(
    Type.Object({
      code: Type.String(),
      name: Type.String(),
      typeCodes: Type.Array(Type.String()),
      keys: Type.Array(TrustBundleKey),
    }),
  ),
  types: Type.Array(
    Type.Object({
      typeCode: Type.String(),
      name: Type.String(),
      holderIdTypes: Type.Array(Type.String()),
      issuers: Type.Array(Type.String()),
    }),
  ),
  creditCodeExceptions: Type.Optional(Type.Array(Type.String(), { description: 'early-pilot credit codes accepted although their check character fails' })),
  certIdCheckExceptions: Type.Optional(Type.Array(Type.String(), { description: "issuer codes whose identifiers are taken in with a check character other than MOD 37,36's (CERT_ID_CHECK_EXCEPTIONS); verification warns CERT_ID_CHECK_CHAR_EXCEPTION" })),
  // Optional only so that a bundle made before it existed still reads: then status is not checked.
  status: Type.Optional(StatusList),
})
export type TrustBundlePayload = Static<typeof TrustBundlePayload>
export type TrustBundleKey = Static<typeof TrustBundleKey>

export interface BundleSources {
  anchors: readonly X509Certificate[]
  issuers: { code: string; name: string; typeCodes: string[]; keys: TrustKey[] }[]
  types: { typeCode: string; name: string; holderIdTypes: string[]; issuers: string[] }[]
  creditCodeExceptions: ReadonlySet<string>
  certIdCheckExceptions?: ReadonlySet<string>
  /** Every certificate that is not valid, read no earlier than `now`. */
  statuses: Iterable<StatusRow>
}

const iso = (d: Date) => d.toISOString()

function bundleKey(k: TrustKey): TrustBundleKey {
  return {
    kid: k.kid,
    algorithms: k.algorithms,
    publicKeyPem: k.publicKeyPem,
    jwk: publicJwk(createPublicKey(k.publicKeyPem)) as Record<string, string>,
    chainPem: k.chainPem,
    activeFrom: iso(k.activeFrom),
    ...(k.retiredAt ? { retiredAt: iso(k.retiredAt) } : {}),
    ...(k.compromisedAt ? { compromisedAt: iso(k.compromisedAt) } : {}),
    notBefore: iso(k.notBefore),
    notAfter: iso(k.notAfter),
  }
}

/** The payload to sign. Retired and compromised keys stay in: old certificates are judged by them. */
export function buildTrustBundle(src: BundleSources, now: Date): TrustBundlePayload {
  return {
    iss: 'zhengzhao',
    iat: Math.floor(now.getTime() / 1000),
    anchors: src.anchors.map((a) => a.toString()),
    issuers: src.issuers.map((i) => ({ code: i.code, name: i.name, typeCodes: i.typeCodes, keys: i.keys.map(bundleKey) })),
    types: src.types.map((t) => ({ typeCode: t.typeCode, name: t.name, holderIdTypes: t.holderIdTypes, issuers: t.issuers })),
    creditCodeExceptions: [...src.creditCodeExceptions],
    // Only when an operator named some: a bundle without it reads as none.
    ...(src.certIdCheckExceptions && src.certIdCheckExceptions.size > 0 ? { certIdCheckExceptions: [...src.certIdCheckExceptions] } : {}),
    status: buildStatusList(src.statuses),
  }
}

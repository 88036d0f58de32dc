import type { JSONWebKeySet } from 'jose'
import { TRUST_BUNDLE_TYP } from '../crypto/serviceKeys.js'
import { parseTrustAnchors } from '../crypto/x509.js'
import { createAjv } from '../types/dataSchema.js'
import { decodeServiceJws, ServiceJwsError, verifyServiceJws } from '../verify/serviceJws.js'
import type { TrustSource } from '../verify/trust.js'
import { TrustBundlePayload, type TrustBundleKey } from './bundle.js'
import { readStatusList, type StatusIndex } from './statusList.js'

export interface ReadBundle {
  payload: TrustBundlePayload
  /** False when no JWKS was given: then nothing vouches for the bundle, and the caller must say so. */
  verified: boolean
  kid: string | undefined
}

const validate = createAjv().compile(TrustBundlePayload)

/** The JWS inside a bundle file: the API's answer `{ "bundle": "<jws>" }`, or the bare JWS. */
export function bundleJwsOf(text: string): string {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (!trimmed.startsWith('{')) return trimmed
  let json: unknown
  try {
    json = JSON.parse(trimmed)
  } catch {
    throw new ServiceJwsError('JWS_MALFORMED', 'the bundle file is neither JSON nor a compact JWS')
  }
  const bundle = (json as { bundle?: unknown } | null)?.bundle
  if (typeof bundle !== 'string') throw new ServiceJwsError('JWS_MALFORMED', 'the bundle file has no "bundle" string')
  return bundle
}

/**
 * Reads a trust bundle file, verifying its signature against the service's JWKS when given.
 * @throws ServiceJwsError when the signature, the media type or the payload is wrong.
 */
export async function readTrustBundle(text: string, jwks: JSONWebKeySet | undefined): Promise<ReadBundle> {
  const jws = bundleJwsOf(text)
  const { header, payload } = jwks ? await verifyServiceJws(jws, jwks, TRUST_BUNDLE_TYP) : decodeServiceJws(jws, TRUST_BUNDLE_TYP)
  if (!validate(payload)) {
    const first = validate.errors?.[0]
    throw new ServiceJwsError('JWS_MALFORMED', `the bundle's payload is not a trust bundle (${first?.instancePath || '/'} ${first?.message ?? ''})`)
  }
  return { payload: payload as TrustBundlePayload, verified: jwks !== undefined, kid: header.kid }
}

function trustKey(k: TrustBundleKey) {
  const at = (s: string | undefined) => (s === undefined ? undefined : new Date(s))
  return { ...k, activeFrom: new Date(k.activeFrom), retiredAt: at(k.retiredAt), compromisedAt: at(k.compromisedAt), notBefore: new Date(k.notBefore), notAfter: new Date(k.notAfter) }
}

/** What the bundle says to trust, in the form the certificate checks take. */
export function trustFromBundle(payload: TrustBundlePayload): TrustSource {
  let anchors
  try {
    anchors = parseTrustAnchors(payload.anchors.join('\n'))
  } catch (err) {
    throw new ServiceJwsError('JWS_MALFORMED', `the bundle's anchors: ${(err as Error).message}`)
  }
  const issuers = new Map(payload.issuers.map((i) => [i.code, { code: i.code, typeCodes: i.typeCodes, keys: i.keys.map(trustKey) }]))
  const types = new Map(payload.types.map((t) => [t.typeCode, { typeCode: t.typeCode, holderIdTypes: t.holderIdTypes, issuers: t.issuers }]))
  return {
    anchors,
    creditCodeExceptions: new Set(payload.creditCodeExceptions ?? []),
    certIdCheckExceptions: new Set(payload.certIdCheckExceptions ?? []),
    issuer: async (code) => issuers.get(code),
    type: async (typeCode) => types.get(typeCode),
  }
}

/**
 * The bundle's status list, as of its iat; undefined when the bundle carries none (made by a
 * service from before status lists), and then nobody may say a certificate's status was checked.
 * @throws ServiceJwsError when the list cannot be read.
 */
export function statusFromBundle(payload: TrustBundlePayload): StatusIndex | undefined {
  if (payload.status === undefined) return undefined
  try {
    return readStatusList(payload.status, new Date(payload.iat * 1000))
  } catch (err) {
    throw new ServiceJwsError('JWS_MALFORMED', (err as Error).message)
  }
}

import { compactVerify, createLocalJWKSet, decodeProtectedHeader, errors, type JSONWebKeySet, type ProtectedHeaderParameters } from 'jose'
import { verifySm2Jws } from '../crypto/sm2Jws.js'
import { sm2PublicKeyFromJwk } from '../crypto/sm2.js'

// What the service signs (receipts, trust bundles) is checked here with its published JWKS alone,
// the way anyone outside the service would: no database, no configuration.

/** Algorithms the service signs with (crypto/serviceKeys.ts): nothing else is accepted. SM2 is checked here, the rest by jose. */
const SERVICE_ALGORITHMS = ['EdDSA', 'ES256']

export type ServiceJwsErrorCode = 'JWKS_INVALID' | 'JWS_MALFORMED' | 'TYP_INVALID' | 'KEY_UNKNOWN' | 'SIGNATURE_INVALID'

export class ServiceJwsError extends Error {
  constructor(
    readonly code: ServiceJwsErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** Reads the service's JWKS (as served at /.well-known/jwks.json); private keys are refused. */
export function parseJwks(text: string): JSONWebKeySet {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ServiceJwsError('JWKS_INVALID', 'the JWKS is not JSON')
  }
  const keys = (json as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new ServiceJwsError('JWKS_INVALID', 'the JWKS has no "keys" array')
  for (const k of keys as Record<string, unknown>[]) {
    if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') throw new ServiceJwsError('JWKS_INVALID', 'every JWKS entry needs a "kty"')
    if ('d' in k) throw new ServiceJwsError('JWKS_INVALID', 'the JWKS holds a private key; give the public JWKS')
  }
  return json as JSONWebKeySet
}

export interface ServiceJws {
  header: ProtectedHeaderParameters
  payload: unknown
}

function payloadJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    throw new ServiceJwsError('JWS_MALFORMED', 'the payload is not JSON')
  }
}

function checkTyp(header: ProtectedHeaderParameters, typ: string): void {
  if (header.typ !== typ) throw new ServiceJwsError('TYP_INVALID', `typ is ${String(header.typ)}, expected ${typ}`)
}

/** Verifies a service JWS of media type `typ` against `jwks`; throws ServiceJwsError saying why not. */
export async function verifyServiceJws(jws: string, jwks: JSONWebKeySet, typ: string): Promise<ServiceJws> {
  if (headerAlg(jws) === 'SM2') return verifySm2ServiceJws(jws.trim(), jwks, typ)
  let verified: Awaited<ReturnType<typeof compactVerify>>
  try {
    verified = await compactVerify(jws.trim(), createLocalJWKSet(jwks), { algorithms: SERVICE_ALGORITHMS })
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) throw new ServiceJwsError('KEY_UNKNOWN', 'no key of the JWKS matches its kid and alg')
    if (err instanceof errors.JWSSignatureVerificationFailed) throw new ServiceJwsError('SIGNATURE_INVALID', 'the signature does not verify with the JWKS')
    throw new ServiceJwsError('JWS_MALFORMED', `not a verifiable compact JWS (${(err as Error).message})`)
  }
  checkTyp(verified.protectedHeader, typ)
  return { header: verified.protectedHeader, payload: payloadJson(verified.payload) }
}

/** Reads a service JWS without verifying it: for when no JWKS was given, and the caller says so. */
export function decodeServiceJws(jws: string, typ: string): ServiceJws {
  const parts = jws.trim().split('.')
  let header: ProtectedHeaderParameters
  try {
    if (parts.length !== 3) throw new Error('not three parts')
    header = decodeProtectedHeader(jws.trim())
  } catch {
    throw new ServiceJwsError('JWS_MALFORMED', 'not a compact JWS')
  }
  checkTyp(header, typ)
  return { header, payload: payloadJson(Buffer.from(parts[1]!, 'base64url')) }
}

function headerAlg(jws: string): unknown {
  try {
    return decodeProtectedHeader(jws.trim()).alg
  } catch {
    return undefined
  }
}

/** An SM2-signed service JWS (a 国密-only deployment): the JWKS entry with its kid and crv SM2. */
function verifySm2ServiceJws(jws: string, jwks: JSONWebKeySet, typ: string): ServiceJws {
  const header = decodeServiceJws(jws, typ).header
  const jwk = jwks.keys.find((k) => k.kid === header.kid && k.kty === 'EC' && k.crv === 'SM2')
  if (!jwk) throw new ServiceJwsError('KEY_UNKNOWN', 'no key of the JWKS matches its kid and alg')
  let key
  try {
    key = sm2PublicKeyFromJwk(jwk)
  } catch (err) {
    throw new ServiceJwsError('JWKS_INVALID', (err as Error).message)
  }
  if (!verifySm2Jws(jws, key)) throw new ServiceJwsError('SIGNATURE_INVALID', 'the signature does not verify with the JWKS')
  return decodeServiceJws(jws, typ)
}

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { DEV_AUDIENCE, DEV_ISSUER, EXAMPLE_KEYS_DIR } from '../config.js'
import { DEV_PRIVATE_KEY_FILE } from '../crypto/devKeys.js'
import { algorithmsForKey, keyThumbprint, type TokenAlgorithm } from '../crypto/keys.js'
import type { Role } from './roles.js'

export interface DevTokenOptions {
  roles: Role[]
  /** The caller's organisation: a unified social credit code. */
  org: string
  sub: string
  /** Lifetime from now; default 3600. Negative values make an already expired token (for tests). */
  ttlSeconds?: number
  /** Holder tokens: `111` citizen ID number or `001` credit code. */
  idType?: string
  /** Holder tokens: the holder's ID number or credit code. */
  id?: string
  /** Default DEV_ISSUER. */
  issuer?: string
  /** Default DEV_AUDIENCE. */
  audience?: string
  /** Epoch seconds; `nbf` is set only when given. */
  notBefore?: number
  /**
   * Merged last, so a test can override any claim; a claim set to `undefined` is left out of
   * the token (e.g. `{ exp: undefined }` for a token without expiry).
   */
  extraClaims?: Record<string, unknown>
}

/** The one algorithm each private key type signs development tokens with. */
function signingAlgorithm(key: KeyObject): TokenAlgorithm {
  const algorithms = algorithmsForKey(key)
  if (typeof algorithms === 'string') throw new Error(`cannot sign tokens with this key: ${algorithms}`)
  return algorithms[0]!
}

/**
 * Signs a token as the development identity provider would: `kid` is the RFC 7638 thumbprint
 * of the public key, so the service finds the key in its JWKS. For development and tests only.
 */
export async function signDevToken(privateKeyPem: string, opts: DevTokenOptions): Promise<string> {
  const privateKey = createPrivateKey(privateKeyPem)
  const alg = signingAlgorithm(privateKey)
  const kid = await keyThumbprint(createPublicKey(privateKey))
  const iat = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    iss: opts.issuer ?? DEV_ISSUER,
    aud: opts.audience ?? DEV_AUDIENCE,
    sub: opts.sub,
    iat,
    exp: iat + (opts.ttlSeconds ?? 3600),
    org: opts.org,
    roles: opts.roles,
  }
  if (opts.notBefore !== undefined) claims.nbf = opts.notBefore
  if (opts.idType !== undefined) claims.idType = opts.idType
  if (opts.id !== undefined) claims.id = opts.id
  Object.assign(claims, opts.extraClaims)
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey)
}

/** The development identity provider's private key from keys.example/. Public: never for production. */
export function readExampleSigningKey(): string {
  return readFileSync(join(EXAMPLE_KEYS_DIR, DEV_PRIVATE_KEY_FILE), 'utf8')
}

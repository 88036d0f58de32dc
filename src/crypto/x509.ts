import { X509Certificate } from 'node:crypto'
import { KeyUsageFlags } from '@peculiar/asn1-x509'
import { keyThumbprint, signingAlgorithmsForKey, type SigningAlgorithm } from './keys.js'
import { checkSm2SignedBy, isSm2Signed } from './x509Sm2.js'
import { caDefect, keyUsageAllows, readConstraints } from './x509Constraints.js'

/** What the service keeps about an issuer's accepted signing certificate. */
export interface SigningCertificateInfo {
  /** RFC 7638 SHA-256 thumbprint of the leaf's public key. */
  kid: string
  algorithms: SigningAlgorithm[]
  /** SPKI PEM of the leaf's public key. */
  publicKeyPem: string
  subject: string
  issuer: string
  serialNumber: string
  notBefore: Date
  notAfter: Date
  /** SHA-256 fingerprint of the leaf certificate. */
  fingerprint256: string
  /** The leaf alone, as normalised PEM. */
  certificatePem: string
  /** The leaf and the intermediates as given, as normalised PEM. */
  chainPem: string
}

/** Why a signing certificate was refused; stable, for callers to switch on. */
export type CertificateProblemCode = 'PEM_INVALID' | 'NOT_TRUSTED' | 'EXPIRED' | 'NOT_YET_VALID' | 'CA_CERTIFICATE' | 'NO_DIGITAL_SIGNATURE' | 'KEY_NOT_ALLOWED' | 'CHAIN_INVALID'

export interface CertificateProblem {
  code: CertificateProblemCode
  message: string
}

// Leaf to anchor, both counted. Real government PKIs are 2–4 deep; the bound also keeps path
// building cheap on hostile input (at most 5! orderings of the certificates given).
const MAX_PATH_LENGTH = 6

function validityProblem(cert: X509Certificate, now: Date): 'EXPIRED' | 'NOT_YET_VALID' | undefined {
  if (now < new Date(cert.validFrom)) return 'NOT_YET_VALID'
  if (now > new Date(cert.validTo)) return 'EXPIRED'
  return undefined
}

/** The CERTIFICATE blocks of a PEM text, in order; anything else is ignored. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
}

/**
 * Reads the configured CA bundle. Throws if it is empty, a block cannot be parsed, or a
 * certificate is not a CA allowed to sign certificates.
 */
export function parseTrustAnchors(pemBundle: string): X509Certificate[] {
  const blocks = splitPem(pemBundle)
  if (blocks.length === 0) throw new Error('the trust anchor bundle holds no CERTIFICATE block')
  return blocks.map((block, i) => {
    const cert = parseBlock(block, `trust anchor ${i + 1}`)
    // A leaf configured as an anchor would let its holder's key vouch for anything it signs.
    const defect = caDefect(readConstraints(cert))
    if (defect) throw new Error(`trust anchor ${i + 1} (${cert.subject}) ${defect}`)
    return cert
  })
}

function parseBlock(block: string, what: string): X509Certificate {
  try {
    const cert = new X509Certificate(block)
    readConstraints(cert)
    return cert
  } catch (err) {
    throw new Error(`${what} cannot be parsed: ${(err as Error).message}`)
  }
}

type Chain = [X509Certificate, ...X509Certificate[]]

// Parsed chains by their PEM text. Verification asks about the same few signing certificates
// again and again: parsing them, their extensions and their signatures once is what keeps a
// verification by identifier cheap. Only what parses is kept; the time checks run every call.
const parsedChains = new Map<string, Chain>()
const MAX_PARSED_CHAINS = 1000

function parseChain(pem: string): Chain {
  const cached = parsedChains.get(pem)
  if (cached) return cached
  // A private key pasted by mistake goes no further: not into a log, not into the database.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) throw new Error('the PEM holds a private key; send certificates only')
  const [leaf, ...rest] = splitPem(pem).map((block, i) => parseBlock(block, `certificate ${i + 1}`))
  if (!leaf) throw new Error('no CERTIFICATE block found')
  const chain: Chain = [leaf, ...rest]
  if (parsedChains.size >= MAX_PARSED_CHAINS) parsedChains.clear()
  parsedChains.set(pem, chain)
  return chain
}

/**
 * The CA certificates of a registered chain (all but its leaf), parsed once per process: what may
 * complete a path for a seal, which usually carries its leaf alone.
 */
export function chainIntermediates(chainPem: string): X509Certificate[] {
  return parseChain(chainPem).slice(1)
}

// Whether one certificate signed another does not change: remembered per pair of parsed objects.
const signatures = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>()

/** Whether `issuer` signed `cert`: names steer the search, the signature decides. */
function signedBy(issuer: X509Certificate, cert: X509Certificate): boolean {
  let known = signatures.get(issuer)
  if (!known) signatures.set(issuer, (known = new WeakMap()))
  let answer = known.get(cert)
  if (answer === undefined) known.set(cert, (answer = checkSignedBy(issuer, cert)))
  return answer
}

function checkSignedBy(issuer: X509Certificate, cert: X509Certificate): boolean {
  // checkIssued also refuses issuers lacking keyCertSign (and every SM2 issuer, whose key type
  // OpenSSL does not match to the signature); the name fallback lets us say so as CHAIN_INVALID.
  if (!issuer.checkIssued(cert) && issuer.subject !== cert.issuer) return false
  if (isSm2Signed(cert)) return checkSm2SignedBy(issuer, cert)
  try {
    return cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}

/** Every path from `cert` up to an anchor ([issuer, …, anchor]), lazily, anchors first. */
function* paths(cert: X509Certificate, pool: readonly X509Certificate[], anchors: readonly X509Certificate[], room: number): Generator<X509Certificate[]> {
  if (room < 1) return
  for (const anchor of anchors) if (signedBy(anchor, cert)) yield [anchor]
  for (const [i, candidate] of pool.entries()) {
    if (!signedBy(candidate, cert)) continue
    const rest = pool.filter((_, j) => j !== i)
    for (const tail of paths(candidate, rest, anchors, room - 1)) yield [candidate, ...tail]
  }
}

/** What is wrong with the CAs of one path above the leaf; `below` counts intermediates under each. */
function pathProblems(path: readonly X509Certificate[], now: Date): CertificateProblem[] {
  const problems: CertificateProblem[] = []
  path.forEach((cert, below) => {
    const isAnchor = below === path.length - 1
    const who = `${isAnchor ? 'trust anchor' : 'intermediate'} "${cert.subject}"`
    const c = readConstraints(cert)
    // Only a CA allowed keyCertSign may vouch for keys; anchors were checked when loaded.
    const defect = isAnchor ? undefined : caDefect(c)
    if (defect) problems.push({ code: 'CHAIN_INVALID', message: `${who} ${defect}` })
    // pathLenConstraint caps how many intermediates may sit below this CA.
    if (c.pathLen !== undefined && below > c.pathLen) problems.push({ code: 'CHAIN_INVALID', message: `${who} allows ${c.pathLen} intermediate(s) below it, the path has ${below}` })
    // A CA outside its validity period vouches for nothing, the root included.
    const validity = validityProblem(cert, now)
    const state = validity === 'EXPIRED' ? 'has expired' : 'is not yet valid'
    if (validity) problems.push({ code: isAnchor ? 'NOT_TRUSTED' : 'CHAIN_INVALID', message: `${who} ${state} (valid ${cert.validFrom} to ${cert.validTo})` })
  })
  return problems
}

/** Problems of the first acceptable path ([] then), else of the first path found, else NOT_TRUSTED. */
function trustProblems(leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[], now: Date): CertificateProblem[] {
  if (intermediates.length >= MAX_PATH_LENGTH) return [{ code: 'CHAIN_INVALID', message: `at most ${MAX_PATH_LENGTH} certificates may be given` }]
  let first: CertificateProblem[] | undefined
  for (const path of paths(leaf, intermediates, anchors, MAX_PATH_LENGTH - 1)) {
    const problems = pathProblems(path, now)
    if (problems.length === 0) return []
    first ??= problems
  }
  return first ?? [{ code: 'NOT_TRUSTED', message: 'the certificate does not chain to a trust anchor through the intermediates given' }]
}

function leafProblems(leaf: X509Certificate, now: Date): CertificateProblem[] {
  const problems: CertificateProblem[] = []
  const c = readConstraints(leaf)
  const validity = validityProblem(leaf, now)
  if (validity) problems.push({ code: validity, message: `the certificate is valid from ${leaf.validFrom} to ${leaf.validTo}` })
  // A CA key signing e-certificates could also mint new signing certificates for itself.
  if (c.ca) problems.push({ code: 'CA_CERTIFICATE', message: 'a CA certificate cannot be a signing certificate' })
  // A JWS is a digital signature; nonRepudiation (contentCommitment) alone does not permit one.
  if (!keyUsageAllows(c, KeyUsageFlags.digitalSignature)) problems.push({ code: 'NO_DIGITAL_SIGNATURE', message: 'the key usage does not include digitalSignature' })
  // The algorithm allow-list and minimum RSA size are pinned in keys.ts.
  const algorithms = algorithmsOf(leaf)
  if (typeof algorithms === 'string') problems.push({ code: 'KEY_NOT_ALLOWED', message: algorithms })
  return problems
}

// What a certificate's key may sign with, once per parsed certificate: `publicKey` makes a new
// KeyObject on every access, and a verification by identifier checks the same chain each time.
const keyAlgorithms = new WeakMap<X509Certificate, ReturnType<typeof signingAlgorithmsForKey>>()
function algorithmsOf(leaf: X509Certificate): ReturnType<typeof signingAlgorithmsForKey> {
  let found = keyAlgorithms.get(leaf)
  if (found === undefined) keyAlgorithms.set(leaf, (found = signingAlgorithmsForKey(leaf.publicKey)))
  return found
}

/**
 * Checks an issuer's signing certificate: the first certificate of `chainPem` is the leaf, the
 * rest are intermediates in any order. Every problem found is reported, not only the first.
 */
export async function checkSigningCertificate(
  chainPem: string,
  anchors: readonly X509Certificate[],
  now: Date = new Date(),
): Promise<{ ok: true; value: SigningCertificateInfo } | { ok: false; problems: CertificateProblem[] }> {
  let chain: [X509Certificate, ...X509Certificate[]]
  try {
    chain = parseChain(chainPem)
  } catch (err) {
    return { ok: false, problems: [{ code: 'PEM_INVALID', message: (err as Error).message }] }
  }
  const [leaf, ...intermediates] = chain
  const problems = [...leafProblems(leaf, now), ...trustProblems(leaf, intermediates, anchors, now)]
  const algorithms = algorithmsOf(leaf)
  if (problems.length > 0 || typeof algorithms === 'string') return { ok: false, problems }
  // What describes the chain does not depend on the time: once per parsed chain.
  let info = descriptions.get(chain)
  if (!info) {
    descriptions.set(chain, (info = describe(leaf, chain, algorithms)))
    info.catch(() => descriptions.delete(chain))
  }
  return { ok: true, value: await info }
}

const descriptions = new WeakMap<Chain, Promise<SigningCertificateInfo>>()

const thumbprints = new WeakMap<X509Certificate, Promise<string>>()

async function describe(leaf: X509Certificate, chain: readonly X509Certificate[], algorithms: SigningAlgorithm[]): Promise<SigningCertificateInfo> {
  let kid = thumbprints.get(leaf)
  if (!kid) thumbprints.set(leaf, (kid = keyThumbprint(leaf.publicKey)))
  return {
    kid: await kid,
    algorithms,
    publicKeyPem: leaf.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    fingerprint256: leaf.fingerprint256,
    certificatePem: leaf.toString(),
    chainPem: chain.map((cert) => cert.toString()).join(''),
  }
}

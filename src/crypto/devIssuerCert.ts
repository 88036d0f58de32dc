import { createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509'
import { randomCertSerial, sm2KeyIdentifier, x509Extension, x509Name } from './devCaSm2.js'
import { OID_SM2_WITH_SM3, sm2PrivateKeyOf, sm2RawToDer, sm2Sign } from './sm2.js'
import { generateSm2KeyPair } from './sm2Keys.js'

/**
 * One development signing certificate for a new issuer, under a development CA read from its PEM
 * files (keys.example/ or a set `zhengzhao keys` wrote): what an operator would otherwise make
 * with `openssl req` and `openssl x509 -CA`, without the serial file OpenSSL leaves beside the CA.
 * The subject is laid out as the example issuers' are (CN and O the name, serialNumber the credit
 * code); the key is P-256 (ES256) or SM2 (SM2-with-SM3). Pure: the caller writes the files.
 */

export type DevIssuerKeyType = 'p256' | 'sm2'

export interface DevIssuerCertOptions {
  code: string
  name: string
  keyType: DevIssuerKeyType
  ca: { certificatePem: string; privateKeyPem: string }
  years?: number
  now?: Date
}

export interface DevIssuerCert {
  certificatePem: string
  /** PKCS#8 PEM (an SM2 key as `openssl genpkey -algorithm SM2` writes it). */
  privateKeyPem: string
  notAfter: Date
}

const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11'
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'
const DER_NULL = new Uint8Array([0x05, 0x00]).buffer
// Backdated a little, as the development PKI's, for a machine whose clock is slightly behind.
const CLOCK_SKEW_MS = 5 * 60_000

export class DevCaError extends Error {}

/** How the CA's key signs a TBSCertificate: the algorithm to name, and the signature's DER. */
function caSigner(key: KeyObject): { algorithm: AlgorithmIdentifier; sign(tbs: Buffer): Uint8Array } {
  const sm2 = sm2PrivateKeyOf(key)
  if (sm2) return { algorithm: new AlgorithmIdentifier({ algorithm: OID_SM2_WITH_SM3 }), sign: (tbs) => sm2RawToDer(sm2Sign(sm2, tbs)) }
  if (key.asymmetricKeyType === 'rsa') return { algorithm: new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: DER_NULL }), sign: (tbs) => sign('sha256', tbs, key) }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { algorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 }), sign: (tbs) => sign('sha256', tbs, { key, dsaEncoding: 'der' }) }
  }
  throw new DevCaError(`the CA's private key is ${key.asymmetricKeyType ?? 'of an unknown type'}: an RSA, P-256 or SM2 key is needed`)
}

function subjectKey(keyType: DevIssuerKeyType): { spki: Buffer; privateKeyPem: string } {
  if (keyType === 'sm2') return generateSm2KeyPair()
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { spki: publicKey.export({ type: 'spki', format: 'der' }), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}

/** The CA's key identifier as its own certificate states it, else computed as it would be. */
function caKeyIdentifier(ca: Certificate): ArrayBuffer | Buffer {
  const ski = ca.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier)
  if (ski) return AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer
  return sm2KeyIdentifier(Buffer.from(AsnConvert.serialize(ca.tbsCertificate.subjectPublicKeyInfo)))
}

export function makeDevIssuerCertificate(opts: DevIssuerCertOptions): DevIssuerCert {
  let caCert: X509Certificate
  let caKey: KeyObject
  try {
    caCert = new X509Certificate(opts.ca.certificatePem)
    caKey = createPrivateKey(opts.ca.privateKeyPem)
  } catch (err) {
    throw new DevCaError(`cannot read the CA: ${(err as Error).message}`)
  }
  if (!caCert.ca) throw new DevCaError(`"${caCert.subject.replace(/\n/g, ', ')}" is not a CA certificate`)
  // OpenSSL matches an RSA or P-256 pair; an SM2 pair is matched by the chain check the caller makes.
  if (!sm2PrivateKeyOf(caKey) && !caCert.checkPrivateKey(caKey)) throw new DevCaError("the CA's private key is not the one its certificate holds")
  const ca = AsnConvert.parse(caCert.raw, Certificate)
  const signer = caSigner(caKey)
  const key = subjectKey(opts.keyType)
  const notBefore = new Date((opts.now ?? new Date()).getTime() - CLOCK_SKEW_MS)
  const notAfter = new Date(notBefore)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (opts.years ?? 3))
  // Never past the CA's own end: a path is valid only while every certificate on it is.
  const caEnd = new Date(caCert.validTo)
  if (notAfter > caEnd) notAfter.setTime(caEnd.getTime())
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomCertSerial(),
    signature: signer.algorithm,
    issuer: ca.tbsCertificate.subject,
    validity: new Validity({ notBefore, notAfter }),
    subject: x509Name({ commonName: opts.name, organizationName: opts.name, serialNumber: opts.code }),
    subjectPublicKeyInfo: AsnConvert.parse(key.spki, SubjectPublicKeyInfo),
    extensions: new Extensions([
      x509Extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      // A document-signing key: signatures and non-repudiation, never certificate signing.
      x509Extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation)),
      x509Extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(sm2KeyIdentifier(key.spki))),
      x509Extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(caKeyIdentifier(ca)) })),
    ]),
  })
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs))
  const signature = signer.sign(tbsDer)
  const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: signer.algorithm, signatureValue: new Uint8Array(signature).buffer })))
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`
  return { certificatePem, privateKeyPem: key.privateKeyPem, notAfter }
}

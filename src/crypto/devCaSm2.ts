import { createHash, randomBytes } from 'node:crypto'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509'
import { children, readWhole, whole } from './der.js'
import { OID_SM2_WITH_SM3, sm2RawToDer, sm2Sign, type Sm2PrivateKey } from './sm2.js'
import type { Sm2KeyPair } from './sm2Keys.js'

/**
 * X.509 certificates signed SM2-with-SM3 for the development PKI. node-forge knows no SM2, so
 * the TBSCertificate is built with @peculiar/asn1-x509, its exact DER signed by sm2Sign (ID
 * 1234567812345678, as OpenSSL needs `-vfyopt distid:` to check), and wrapped as Certificate.
 */

const OID_CN = '2.5.4.3'
const OID_O = '2.5.4.10'
const OID_SERIAL_NUMBER = '2.5.4.5'
// SM2-with-SM3 has no parameters: the field is absent, as OpenSSL writes it.
const SM2_WITH_SM3 = (): AlgorithmIdentifier => new AlgorithmIdentifier({ algorithm: OID_SM2_WITH_SM3 })

export interface Sm2CertSubject {
  commonName: string
  organizationName: string
  /** The credit code of an issuer; a PrintableString in X.520. */
  serialNumber?: string
}

/** Names as UTF8String (issuer names are Chinese), serialNumber PrintableString: as the RSA PKI writes them. */
function name(s: Sm2CertSubject): Name {
  const rdn = (type: string, value: AttributeValue) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })])
  const rdns = [rdn(OID_CN, new AttributeValue({ utf8String: s.commonName })), rdn(OID_O, new AttributeValue({ utf8String: s.organizationName }))]
  if (s.serialNumber !== undefined) rdns.push(rdn(OID_SERIAL_NUMBER, new AttributeValue({ printableString: s.serialNumber })))
  return new Name(rdns)
}

const extension = (extnID: string, critical: boolean, value: unknown): Extension =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) })

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits, as OpenSSL's `hash`. */
export function sm2KeyIdentifier(spki: Uint8Array): Buffer {
  const info = AsnConvert.parse(spki, SubjectPublicKeyInfo)
  return createHash('sha1').update(Buffer.from(info.subjectPublicKey)).digest()
}

/** A positive 128-bit serial number: the first byte non-zero and below 0x80, so its DER is minimal and positive. */
function randomSerial(): ArrayBuffer {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return new Uint8Array(bytes).buffer
}

export interface Sm2CertOptions {
  subject: Sm2CertSubject
  /** The subject's public key. */
  subjectKey: Pick<Sm2KeyPair, 'spki'>
  /** Self-signed when absent. */
  issuer?: { subject: Sm2CertSubject; key: Sm2PrivateKey; spki: Uint8Array }
  /** The subject's own private key: signs a self-signed certificate. */
  selfKey?: Sm2PrivateKey
  ca: boolean
  notBefore: Date
  notAfter: Date
}

/** A certificate signed SM2-with-SM3 by the issuer's key (or the subject's own, self-signed), PEM. */
export function makeSm2Certificate(opts: Sm2CertOptions): string {
  const signer = opts.issuer?.key ?? opts.selfKey
  if (!signer) throw new TypeError('an SM2 certificate needs an issuer key or, self-signed, its own key')
  const issuerName = name(opts.issuer?.subject ?? opts.subject)
  const issuerSpki = opts.issuer?.spki ?? opts.subjectKey.spki
  const usage = opts.ca
    ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
    : // A document-signing key: signatures and non-repudiation, never certificate signing.
      KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerial(),
    signature: SM2_WITH_SM3(),
    issuer: issuerName,
    validity: new Validity({ notBefore: opts.notBefore, notAfter: opts.notAfter }),
    subject: name(opts.subject),
    subjectPublicKeyInfo: AsnConvert.parse(opts.subjectKey.spki, SubjectPublicKeyInfo),
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: opts.ca })),
      extension(id_ce_keyUsage, true, new KeyUsage(usage)),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(sm2KeyIdentifier(opts.subjectKey.spki))),
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(sm2KeyIdentifier(issuerSpki)) })),
    ]),
  })
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs))
  const signature = sm2RawToDer(sm2Sign(signer, tbsDer))
  const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: SM2_WITH_SM3(), signatureValue: new Uint8Array(signature).buffer })))
  // The signature covers the bytes signed, not a re-encoding: refuse to write a certificate whose
  // TBSCertificate came out differently the second time.
  const [signedTbs] = children(der, readWhole(der, 0x30))
  if (!signedTbs || !Buffer.from(whole(der, signedTbs)).equals(tbsDer)) throw new Error('TBSCertificate re-encoded differently')
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`
}

// The same name layout, extension wrapping and serial numbers for any development certificate (devIssuerCert.ts).
export { name as x509Name, extension as x509Extension, randomSerial as randomCertSerial }

import { children, DerError, expectTag, readOid, readTlv, readUnsignedInteger, readWhole, value, whole, type Tlv } from '../crypto/der.js'

/**
 * Electronic seals and seal signatures: GB/T 38540 (V4; "V5" adds the optional time stamp) and
 * GM/T 0031 (V1). Read with the strict DER reader so every signed part keeps its exact bytes:
 * a signature is checked over what was signed, never over a re-encoding of it.
 *
 *   V4  SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING, signatureAlgID OID,
 *                                    signature BIT STRING, timeStamp [0] EXPLICIT BIT STRING OPTIONAL }
 *       TBS_Sign ::= SEQUENCE { version INTEGER (4), eseal SESeal, timeInfo GeneralizedTime,
 *                               dataHash BIT STRING, propertyInfo IA5String, extDatas OPTIONAL }
 *       SESeal ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING, signAlgID OID, signedValue BIT STRING }
 *         the seal maker signs DER(eSealInfo)
 *   V1  SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }
 *       TBS_Sign ::= SEQUENCE { version INTEGER (1), eseal SESeal, timeInfo BIT STRING, dataHash BIT STRING,
 *                               propertyInfo IA5String, cert OCTET STRING, signatureAlgorithm OID }
 *       SESeal ::= SEQUENCE { sealInfo SES_SealInfo, signInfo SEQUENCE { cert, signatureAlgorithm, signData } }
 *         the seal maker signs DER(SEQUENCE { sealInfo, cert, signatureAlgorithm })
 *   SES_SealInfo ::= SEQUENCE { header SEQUENCE { ID "ES", version, Vid }, esID IA5String,
 *                               property SES_ESPropertyInfo, picture, extDatas OPTIONAL }
 *   V4 property: { type, name UTF8String, certListType INTEGER, certList, createDate, validStart, validEnd (GeneralizedTime) }
 *   V1 property: { type, name UTF8String, certList SEQUENCE OF OCTET STRING, createDate, validStart, validEnd (UTCTime) }
 */

export interface Seal {
  version: number
  esID: string
  name: string
  /** The certificates the seal may be used with (certListType 1, and V1). */
  certs: Buffer[]
  /** Or their digests (certListType 2): the digest algorithm's name as written, and the value. */
  certDigests: { algorithm: string; digest: Buffer }[]
  validStart: Date
  validEnd: Date
  makerCert: Buffer
  makerAlgorithm: string
  makerSignature: Buffer
  /** Exactly what the seal maker signed. */
  makerSigned: Uint8Array
}

export interface SealSignature {
  version: number
  seal: Seal
  signingTime: Date | undefined
  signingTimeText: string
  dataHash: Buffer
  propertyInfo: string
  signerCert: Buffer
  algorithm: string
  signature: Buffer
  /** Exactly what the signer signed: DER(TBS_Sign) as found. */
  signed: Uint8Array
  hasTimeStamp: boolean
}

export class SesError extends Error {}

const SEQ = 0x30
const INTEGER = 0x02
const BIT_STRING = 0x03
const OCTET_STRING = 0x04
const UTF8 = 0x0c
const PRINTABLE = 0x13
const IA5 = 0x16
const UTC_TIME = 0x17
const GENERALIZED_TIME = 0x18

const seq = (der: Uint8Array, tlv: Tlv | undefined): Tlv[] => children(der, expectTag(tlv, SEQ))
const str = (der: Uint8Array, tlv: Tlv | undefined, ...tags: number[]): string => {
  if (!tlv || !tags.includes(tlv.tag)) throw new DerError('expected a string')
  return Buffer.from(value(der, tlv)).toString('utf8')
}
const int = (der: Uint8Array, tlv: Tlv | undefined): number => Number(readUnsignedInteger(der, expectTag(tlv, INTEGER)))
const octets = (der: Uint8Array, tlv: Tlv | undefined): Buffer => Buffer.from(value(der, expectTag(tlv, OCTET_STRING)))
const bits = (der: Uint8Array, tlv: Tlv | undefined): Buffer => {
  const v = value(der, expectTag(tlv, BIT_STRING))
  if (v.length === 0 || v[0] !== 0) throw new DerError('a BIT STRING with unused bits')
  return Buffer.from(v.subarray(1))
}

/** ASN.1 times (UTCTime, GeneralizedTime) and the text forms seen in V1 timeInfo. */
export function parseSealTime(text: string): Date | undefined {
  let m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text)
  if (!m) {
    const utc = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
    // RFC 5280: two-digit years 50–99 are 19xx.
    if (utc) m = [utc[0], `${Number(utc[1]) >= 50 ? '19' : '20'}${utc[1]}`, utc[2]!, utc[3]!, utc[4]!, utc[5]!, utc[6]!] as unknown as RegExpExecArray
  }
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])))
    return Number.isNaN(d.getTime()) ? undefined : d
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const d = new Date(text)
    return Number.isNaN(d.getTime()) ? undefined : d
  }
  // "2020-01-25 15:31:56" without a zone is China Standard Time, as the signing products write it.
  const local = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text)
  if (local) return new Date(Date.UTC(Number(local[1]), Number(local[2]) - 1, Number(local[3]), Number(local[4]) - 8, Number(local[5]), Number(local[6])))
  return undefined
}

function time(der: Uint8Array, tlv: Tlv | undefined): Date {
  const t = parseSealTime(str(der, tlv, UTC_TIME, GENERALIZED_TIME))
  if (!t) throw new DerError('an unreadable time')
  return t
}

function certList(der: Uint8Array, tlv: Tlv | undefined, listType: number): Pick<Seal, 'certs' | 'certDigests'> {
  const items = seq(der, tlv)
  if (listType === 2) {
    return {
      certs: [],
      certDigests: items.map((item) => {
        const [alg, digest] = seq(der, item)
        return { algorithm: str(der, alg, PRINTABLE, IA5, UTF8), digest: octets(der, digest) }
      }),
    }
  }
  // Some V1 seals list something other than certificates here (an IA5String "1" was seen); only
  // certificates count, so such a seal vouches for no signer and the signerInSeal check says so.
  return { certs: items.filter((item) => item.tag === OCTET_STRING).map((item) => octets(der, item)), certDigests: [] }
}

function sealInfo(der: Uint8Array, info: Tlv): Omit<Seal, 'makerCert' | 'makerAlgorithm' | 'makerSignature' | 'makerSigned'> {
  const [header, esID, property] = seq(der, info)
  const [id, version] = seq(der, header)
  if (str(der, id, IA5) !== 'ES') throw new DerError('the seal header is not "ES"')
  const v = int(der, version)
  const p = seq(der, property)
  if (v >= 4) {
    // type, name, certListType, certList, createDate, validStart, validEnd
    return { version: v, esID: str(der, esID, IA5), name: str(der, p[1], UTF8), ...certList(der, p[3], int(der, p[2])), validStart: time(der, p[5]), validEnd: time(der, p[6]) }
  }
  // type, name, certList, createDate, validStart, validEnd
  return { version: v, esID: str(der, esID, IA5), name: str(der, p[1], UTF8), ...certList(der, p[2], 1), validStart: time(der, p[4]), validEnd: time(der, p[5]) }
}

function derSequenceOf(parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts)
  const n = body.length
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
  return Buffer.concat([Buffer.from([SEQ, ...length]), body])
}

function seal(der: Uint8Array, tlv: Tlv | undefined): Seal {
  const parts = seq(der, tlv)
  if (parts.length === 2) {
    // V1: { sealInfo, signInfo { cert, signatureAlgorithm, signData } }
    const [info, signInfo] = parts
    const [cert, alg, sig] = seq(der, signInfo)
    return {
      ...sealInfo(der, info!),
      makerCert: octets(der, cert),
      makerAlgorithm: readOid(der, expectTag(alg, 0x06)),
      makerSignature: bits(der, sig),
      makerSigned: derSequenceOf([whole(der, info!), whole(der, cert!), whole(der, alg!)]),
    }
  }
  // V4: { eSealInfo, cert, signAlgID, signedValue }
  const [info, cert, alg, sig] = parts
  return { ...sealInfo(der, expectTag(info, SEQ)), makerCert: octets(der, cert), makerAlgorithm: readOid(der, expectTag(alg, 0x06)), makerSignature: bits(der, sig), makerSigned: whole(der, info!) }
}

/** A seal alone (an .esl file). */
export function parseSeal(der: Uint8Array): Seal {
  try {
    return seal(der, readWhole(der, SEQ))
  } catch (err) {
    throw new SesError(`not a GB/T 38540 or GM/T 0031 seal: ${(err as Error).message}`)
  }
}

/** A seal signature (SignedValue.dat of a Type="Seal" signature). */
export function parseSealSignature(der: Uint8Array): SealSignature {
  try {
    const top = seq(der, readWhole(der, SEQ))
    const tbs = expectTag(top[0], SEQ)
    const t = seq(der, tbs)
    const version = int(der, t[0])
    const common = { version, seal: seal(der, t[1]), signed: whole(der, tbs) }
    if (version >= 4) {
      const timeText = str(der, t[2], GENERALIZED_TIME, UTC_TIME)
      return {
        ...common,
        signingTimeText: timeText,
        signingTime: parseSealTime(timeText),
        dataHash: bits(der, t[3]),
        propertyInfo: str(der, t[4], IA5),
        signerCert: octets(der, top[1]),
        algorithm: readOid(der, expectTag(top[2], 0x06)),
        signature: bits(der, top[3]),
        hasTimeStamp: top[4]?.tag === 0xa0,
      }
    }
    // V1 writes the time as the text of a BIT STRING.
    const timeText = t[2]?.tag === BIT_STRING ? bits(der, t[2]).toString('latin1') : str(der, t[2], GENERALIZED_TIME, UTC_TIME)
    return {
      ...common,
      signingTimeText: timeText,
      signingTime: parseSealTime(timeText),
      dataHash: bits(der, t[3]),
      propertyInfo: str(der, t[4], IA5),
      signerCert: octets(der, t[5]),
      algorithm: readOid(der, expectTag(t[6], 0x06)),
      signature: bits(der, top[1]),
      hasTimeStamp: false,
    }
  } catch (err) {
    throw new SesError(`not a GB/T 38540 or GM/T 0031 seal signature: ${(err as Error).message}`)
  }
}

export { readTlv }

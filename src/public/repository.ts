import { eq, sql } from 'drizzle-orm'
import { decrypt, encrypt, type DataProtectionKeys } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { auditEvents, certificates, certificateTypes, issuers, verificationCodes } from '../db/schema.js'
import { AppError } from '../errors.js'
import { codeSha256, newVerificationCode } from './codes.js'

// The code's ciphertext is bound to its certificate and to its kind, so it can be neither moved
// to another row nor passed off as a JWS.
const aadOf = (certificateId: string) => `verification-code:${certificateId}`

export interface CodeActor {
  sub: string
  org: string
  requestId: string
  clientRequestId?: string | null
}

export function createVerificationCodeRepository(db: Db, keys: DataProtectionKeys) {
  const byShaQuery = db
    .select({ certificateId: verificationCodes.certificateId })
    .from(verificationCodes)
    .where(eq(verificationCodes.codeSha256, sql.placeholder('sha')))
    .prepare('verification_code_by_sha')

  function rowFor(certificateId: string, code: string) {
    const { keyId, cipher } = encrypt(keys, code, aadOf(certificateId))
    return { certificateId, codeSha256: codeSha256(code), keyId, codeCipher: cipher }
  }

  /** The issuer's own certificate, or CERTIFICATE_NOT_FOUND (another organisation's is not theirs to learn of). */
  async function ownedBy(tx: Pick<Db, 'select'>, certificateId: string, org: string) {
    const [row] = await tx.select({ issuerCode: certificates.issuerCode, holderIndex: certificates.holderIndex }).from(certificates).where(eq(certificates.id, certificateId))
    if (!row || row.issuerCode !== org) throw new AppError('CERTIFICATE_NOT_FOUND')
    return row
  }

  return {
    /** The certificate a scanned code stands for, if the code is current. */
    async certificateOf(code: string): Promise<string | undefined> {
      const [row] = await byShaQuery.execute({ sha: codeSha256(code) })
      return row?.certificateId
    },

    /**
     * The current code of an issuer's certificate, made on first use: certificates pushed before
     * codes existed get one the first time their issuer asks, and two first asks agree on one.
     */
    async currentCode(certificateId: string, org: string): Promise<{ code: string; createdAt: Date }> {
      await ownedBy(db, certificateId, org)
      await db.insert(verificationCodes).values(rowFor(certificateId, newVerificationCode())).onConflictDoNothing({ target: verificationCodes.certificateId })
      const [row] = await db.select().from(verificationCodes).where(eq(verificationCodes.certificateId, certificateId))
      return { code: decrypt(keys, row!.keyId, row!.codeCipher, aadOf(certificateId)), createdAt: row!.createdAt }
    },

    /** A new code in place of the old one, which answers 404 from the moment this commits. */
    async rotate(certificateId: string, actor: CodeActor): Promise<{ code: string; createdAt: Date }> {
      return db.transaction(async (tx) => {
        const owned = await ownedBy(tx, certificateId, actor.org)
        const code = newVerificationCode()
        const values = rowFor(certificateId, code)
        const [row] = await tx
          .insert(verificationCodes)
          .values(values)
          .onConflictDoUpdate({ target: verificationCodes.certificateId, set: { codeSha256: values.codeSha256, keyId: values.keyId, codeCipher: values.codeCipher, createdAt: sql`clock_timestamp()` } })
          .returning({ createdAt: verificationCodes.createdAt })
        await tx.insert(auditEvents).values({
          kind: 'certificate.verification-code',
          subject: certificateId,
          holderRef: owned.holderIndex,
          actorSub: actor.sub,
          actorOrg: actor.org,
          requestId: actor.requestId,
          clientRequestId: actor.clientRequestId ?? null,
          details: { rotated: true },
        })
        return { code, createdAt: row!.createdAt }
      })
    },

    /** The names a page shows beside the codes in the record. */
    async names(typeCode: string, issuerCode: string): Promise<{ typeName: string | null; issuerName: string | null }> {
      const [type] = await db.select({ name: certificateTypes.name }).from(certificateTypes).where(eq(certificateTypes.typeCode, typeCode))
      const [issuer] = await db.select({ name: issuers.name }).from(issuers).where(eq(issuers.code, issuerCode))
      return { typeName: type?.name ?? null, issuerName: issuer?.name ?? null }
    },
  }
}

export type VerificationCodeRepository = ReturnType<typeof createVerificationCodeRepository>

import { chinaToday, createCertificateReader, isInForce, type CertificateRow } from '../certificates/read.js'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import type { TransparencyLog } from '../log/integrator.js'
import { qrPng, qrSvg } from '../public/qr.js'
import { createPresentationRepository } from './repository.js'
import { newPresentationToken, tokenSha256 } from './tokens.js'

export interface CreatePresentation {
  /** The holder's blind index, from their token: never from the request. */
  holderRef: string
  certificateId: string
  requestId: string
  /** The holder's recorded subject (request.user.sub, a keyed hash) for the audit event. */
  actorSub?: string
  clientRequestId?: string | null
}

/** What the holder's phone shows: the URL (the only place the token appears) as QR codes. */
export interface CreatedPresentation {
  url: string
  expiresAt: string
  /** The QR code of `url` as an SVG document. */
  qrSvg: string
  /** The QR code of `url` as a PNG (8 pixels a module). */
  qrPng: Buffer
}

/** Why a certificate cannot be shown, in the problem's detail. */
function notInForce(row: CertificateRow, today: string): string {
  if (row.status !== 'valid') return `the certificate is ${row.status}: only a certificate in force can be shown`
  if (row.validFrom > today) return `the certificate is not in force before ${row.validFrom}`
  return `the certificate expired after ${row.validUntil}`
}

/**
 * 亮证: a holder makes a short-lived, single-use presentation of one of their certificates.
 * Purpose-free: the holder chose to show it, so the one who scans it needs no grant and states
 * no matter. Making one is an audit event (`presentation.created`), not an access: nobody has
 * seen anything yet, and the holder's access log shows the use, which is the access.
 *
 * `tlog` appends the event to the Merkle log before the presentation is handed out.
 */
export function createPresentationService(db: Db, config: Pick<Config, 'dataProtection' | 'publicBaseUrl' | 'presentationTtlSeconds'>, tlog: TransparencyLog, log?: { error(obj: object, msg: string): void }) {
  const reader = createCertificateReader(db, config.dataProtection)
  const repository = createPresentationRepository(db)

  return {
    /**
     * A new presentation of the holder's own certificate, in force today. Someone else's
     * certificate, or none, is CERTIFICATE_NOT_FOUND (a holder learns nothing of others'); one
     * revoked, suspended, superseded, expired or not yet valid is CERTIFICATE_NOT_IN_FORCE.
     */
    async create(p: CreatePresentation): Promise<CreatedPresentation> {
      const row = await reader.byId(p.certificateId)
      if (!row || row.holderIndex !== p.holderRef) throw new AppError('CERTIFICATE_NOT_FOUND')
      const today = chinaToday()
      if (!isInForce(row, today)) throw new AppError('CERTIFICATE_NOT_IN_FORCE', notInForce(row, today))
      const token = newPresentationToken()
      const stored = await repository.insert({
        tokenSha256: tokenSha256(token),
        certificateId: row.id,
        holderRef: p.holderRef,
        ttlSeconds: config.presentationTtlSeconds,
        actorSub: p.actorSub ?? 'holder',
        requestId: p.requestId,
        clientRequestId: p.clientRequestId ?? null,
      })
      // As for every change: committed already, so a failed append is logged and the next one takes it.
      await tlog.integrate().catch((err: Error) => log?.error({ err: { message: err.message } }, 'events could not be appended to the log'))
      const url = `${config.publicBaseUrl}/s/${token}`
      const [svg, png] = await Promise.all([qrSvg(url), qrPng(url)])
      return { url, expiresAt: stored.expiresAt.toISOString(), qrSvg: svg, qrPng: png }
    },
  }
}

export type PresentationService = ReturnType<typeof createPresentationService>

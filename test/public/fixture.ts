import type { FastifyInstance } from 'fastify'
import { bearer } from '../helpers/app.js'
import { HOLDER_ID, issuanceFixture, type IssuanceFixture } from '../helpers/certs.js'

export interface ScanFixture extends IssuanceFixture {
  /** Pushes a certificate for `holderId` (with `name` as the holder's name) and returns its identifier and code. */
  issue(opts?: { holderId?: string; name?: string }): Promise<{ id: string; code: string; url: string }>
  revoke(id: string): Promise<void>
  holderAuth(id?: string): Promise<{ authorization: string }>
}

export async function scanFixture(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}): Promise<ScanFixture> {
  const f = await issuanceFixture(t, { PUBLIC_BASE_URL: 'https://zz.example.gov.cn/', ...env })
  const app: FastifyInstance = f.app
  return {
    ...f,
    async issue(opts = {}) {
      const payload = f.payload({ holderId: opts.holderId ?? HOLDER_ID })
      if (opts.name) payload.holder.name = opts.name
      const push = await app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload) } })
      if (push.statusCode !== 201) throw new Error(`push: ${push.body}`)
      const got = await app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/verification-code`, headers: f.issuerAuth })
      if (got.statusCode !== 200) throw new Error(`code: ${got.body}`)
      return { id: payload.id, code: got.json().code, url: got.json().url }
    },
    async revoke(id) {
      const res = await app.inject({ method: 'POST', url: `/v1/certificates/${id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: '发证机关撤销' } })
      if (res.statusCode !== 200) throw new Error(`revoke: ${res.body}`)
    },
    holderAuth: (id = HOLDER_ID) => bearer(['holder'], { idType: '111', id, sub: `citizen-${id.slice(-4)}` }),
  }
}

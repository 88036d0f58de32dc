import { scanFixture, type ScanFixture } from '../public/fixture.js'

export interface PresentFixture extends ScanFixture {
  /** The holder shows `id` (HOLDER_ID's by default): the created body, and the token out of its URL. */
  present(id: string, holderId?: string): Promise<{ url: string; token: string; expiresAt: string; qr: { svg: string; png: string } }>
}

export async function presentFixture(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}): Promise<PresentFixture> {
  const f = await scanFixture(t, env)
  return {
    ...f,
    async present(id, holderId) {
      const res = await f.app.inject({ method: 'POST', url: `/v1/me/certificates/${id}/presentations`, headers: await f.holderAuth(holderId) })
      if (res.statusCode !== 201) throw new Error(`present: ${res.body}`)
      const body = res.json()
      return { ...body, token: (body.url as string).split('/s/')[1]! }
    },
  }
}

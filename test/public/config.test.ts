import t from 'tap'
import { ConfigError } from '../../src/config.js'
import { testConfig } from '../helpers/app.js'

t.test('PUBLIC_BASE_URL: where printed QR codes lead', async (t) => {
  t.equal((await testConfig()).publicBaseUrl, 'http://localhost:3000', 'the default')
  t.equal((await testConfig({ PUBLIC_BASE_URL: 'https://zz.example.gov.cn/zhengzhao/' })).publicBaseUrl, 'https://zz.example.gov.cn/zhengzhao', 'a trailing slash is dropped')
  for (const bad of ['zz.example.gov.cn', 'ftp://zz.example.gov.cn', 'https://zz.example.gov.cn/?a=1', 'https://zz.example.gov.cn/#x', 'https://user:pw@zz.example.gov.cn']) {
    const err = await testConfig({ PUBLIC_BASE_URL: bad }).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError && err.problems.some((p) => p.startsWith('PUBLIC_BASE_URL')), `${bad} is refused, named`)
  }
})

import type { ScanReason, ScanView } from '../public/scan.js'
import { esc, page, type Lang } from './html.js'

export const TEXT = {
  zh: {
    title: '电子证照核验',
    other: 'English',
    otherHref: '?lang=en',
    otherLang: 'en',
    results: {
      0: '证照真实，当前有效',
      1: '证照真实，尚未生效',
      2: '证照真实，暂时无效',
      3: '证照真实，已经失效',
      4: '信息不足，无法核验',
      5: '查无此证',
      6: '证照信息与记录不一致',
    } as Record<number, string>,
    reasons: {
      revoked: '已被发证机关撤销',
      superseded: '已被新版本取代',
      expired: '已超过有效期',
      suspended: '已被发证机关暂停',
      notYetInForce: '有效期尚未开始',
      key: '签发密钥或信任链已失效',
      inconsistent: '签名或内容与登记不符',
    } as Record<ScanReason, string>,
    statuses: { valid: '有效', suspended: '暂停', revoked: '撤销', superseded: '已被取代' } as Record<string, string>,
    type: '证照名称',
    issuer: '发证机关',
    number: '证照编号',
    validity: '有效期',
    longTerm: '长期',
    to: '至',
    status: '当前状态',
    since: '，自',
    colon: '：',
    holder: '持证主体',
    masked: '（已隐去部分姓名）',
    checkedAt: '核验时间',
    tz: '北京时间',
    notFoundTitle: '未找到该核验码',
    notFound: '该核验码不存在或已作废。请核对二维码或向发证机关咨询。',
    note: '本页仅显示核验结果，不显示身份证件号码和证照内容。每次核验都会记入持证人的访问记录。',
  },
  en: {
    title: 'E-certificate verification',
    other: '中文',
    otherHref: '?lang=zh',
    otherLang: 'zh-CN',
    results: {
      0: 'Genuine and valid',
      1: 'Genuine, not yet in force',
      2: 'Genuine, temporarily invalid',
      3: 'Genuine, no longer valid',
      4: 'Too little information to verify',
      5: 'No such certificate',
      6: 'Inconsistent with the record',
    } as Record<number, string>,
    reasons: {
      revoked: 'revoked by the issuer',
      superseded: 'superseded by a newer version',
      expired: 'expired',
      suspended: 'suspended by the issuer',
      notYetInForce: 'its validity has not begun',
      key: "the issuer's signing key or trust chain is no longer valid",
      inconsistent: 'the signature or content does not match the record',
    } as Record<ScanReason, string>,
    statuses: { valid: 'valid', suspended: 'suspended', revoked: 'revoked', superseded: 'superseded' } as Record<string, string>,
    type: 'Certificate',
    issuer: 'Issued by',
    number: 'Number',
    validity: 'Valid',
    longTerm: 'long-term',
    to: 'to',
    status: 'Current status',
    since: ', since',
    colon: ': ',
    holder: 'Holder',
    masked: '(name partly hidden)',
    checkedAt: 'Checked at',
    tz: 'China Standard Time',
    notFoundTitle: 'Verification code not found',
    notFound: 'This verification code does not exist or has been withdrawn. Check the QR code or ask the issuing authority.',
    note: 'This page shows the verification result only: no ID number and no certificate content. Every check is recorded in the holder\'s access log.',
  },
} as const

/** An instant as a person in China reads it: 2025-05-22 14:03 (China Standard Time). */
export function chinaTime(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ')
}

function header(lang: Lang, title: string): string {
  const t = TEXT[lang]
  return `<header><h1>${esc(title)}</h1><nav><a href="${t.otherHref}" hreflang="${t.otherLang}" lang="${t.otherLang}">${t.other}</a></nav></header>`
}

export function tone(result: number): 'ok' | 'warn' | 'bad' {
  if (result === 0) return 'ok'
  if (result === 1 || result === 2) return 'warn'
  return 'bad'
}

/** The page a scanned code leads to. */
export function verificationPage(v: ScanView, lang: Lang): string {
  const t = TEXT[lang]
  const validity = `${v.validFrom} ${t.to} ${v.validUntil ?? t.longTerm}`
  const row = (label: string, value: string, id: string) => `<dt id="${id}-label">${esc(label)}</dt><dd aria-labelledby="${id}-label" data-field="${id}">${value}</dd>`
  const body = `${header(lang, t.title)}
<section class="result ${tone(v.result)}" role="status" aria-live="polite" data-result="${v.result}">
<p>${esc(t.results[v.result]!)}${v.reason ? `<small>${esc(t.reasons[v.reason])}</small>` : ''}</p>
</section>
<dl>
${row(t.type, esc(v.typeName), 'type')}
${row(t.issuer, esc(v.issuerName), 'issuer')}
${row(t.number, esc(v.number), 'number')}
${row(t.validity, esc(validity), 'validity')}
${row(t.status, `${esc(t.statuses[v.status] ?? v.status)}${t.since} <time datetime="${esc(v.statusChangedAt)}">${esc(chinaTime(v.statusChangedAt))}</time> (${t.tz})`, 'status')}
${row(t.holder, `${esc(v.holderName)} <small>${t.masked}</small>`, 'holder')}
</dl>
<footer><p>${t.checkedAt}${t.colon}<time datetime="${esc(v.checkedAt)}">${esc(chinaTime(v.checkedAt))}</time> (${t.tz})</p><p>${esc(t.note)}</p></footer>`
  return page(lang, `${t.results[v.result]} · ${t.title}`, body)
}

/** An unknown, malformed or withdrawn code: says so, and nothing about any certificate. */
export function codeNotFoundPage(lang: Lang): string {
  const t = TEXT[lang]
  const body = `${header(lang, t.title)}
<section class="result bad" role="status" data-result="none">
<p>${esc(t.notFoundTitle)}<small>${esc(t.notFound)}</small></p>
</section>
<footer><p>${esc(t.note)}</p></footer>`
  return page(lang, `${t.notFoundTitle} · ${t.title}`, body)
}

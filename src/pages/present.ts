import { createHash } from 'node:crypto'
import type { Refusal } from '../present/repository.js'
import type { PresentationView } from '../present/use.js'
import { esc, page, PAGE_CSP, type Lang } from './html.js'
import { chinaTime, TEXT as VERIFY, tone } from './verification.js'

const TEXT = {
  zh: {
    title: '亮证核验',
    other: 'English',
    shown: '持证人主动出示，仅可查看一次',
    name: '证照名称',
    type: '证照类型',
    number: '证照编号',
    holder: '持证主体',
    holderId: '证件号码',
    idNote: '（仅显示后四位）',
    issuer: '发证机关',
    issuedOn: '发证日期',
    id: '电子证照标识',
    data: '证照信息',
    refused: {
      used: ['该亮证码已被使用', '每个亮证码只能查看一次。请持证人重新出示。'],
      expired: ['该亮证码已过期', '亮证码有效时间很短。请持证人重新出示。'],
      unknown: ['未找到该亮证码', '请核对二维码，或请持证人重新出示。'],
    } as Record<Refusal, [string, string]>,
    note: '本证照由持证人主动出示。本次查看已记入持证人的访问记录；再次打开此链接将无法查看。',
    refusedNote: '本页不显示任何证照信息。',
  },
  en: {
    title: 'Presented certificate',
    other: '中文',
    shown: 'Shown by its holder, viewable once',
    name: 'Certificate',
    type: 'Type',
    number: 'Number',
    holder: 'Holder',
    holderId: 'ID number',
    idNote: '(last four characters only)',
    issuer: 'Issued by',
    issuedOn: 'Issued on',
    id: 'Identifier',
    data: 'Details',
    refused: {
      used: ['This presentation has already been used', 'Each presentation can be viewed once. Ask the holder to show it again.'],
      expired: ['This presentation has expired', 'A presentation is valid for a few minutes only. Ask the holder to show it again.'],
      unknown: ['Presentation not found', 'Check the QR code, or ask the holder to show it again.'],
    } as Record<Refusal, [string, string]>,
    note: 'The holder chose to show this certificate. This view is recorded in their access log; opening the link again will not show it.',
    refusedNote: 'This page shows nothing about any certificate.',
  },
} as const

// The page holds both languages (the switch must not open a one-time link again): the other one
// is shown by :target, in CSS. This stylesheet is admitted by its hash like the shared one.
const SWITCH_STYLE = '.alt{display:none}.alt:target{display:block}.alt:target~.primary{display:none}.data dt{font-size:.8rem}'
const SWITCH_HASH = createHash('sha256').update(SWITCH_STYLE, 'utf8').digest('base64')

/** The pages' CSP with the language switch's stylesheet admitted too: still no script. */
export const PRESENT_CSP = PAGE_CSP.replace("style-src '", `style-src 'sha256-${SWITCH_HASH}' '`)

const otherOf = (lang: Lang): Lang => (lang === 'zh' ? 'en' : 'zh')
const langAttr = (lang: Lang) => (lang === 'zh' ? 'zh-CN' : 'en')

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** One language's rendering of a presented certificate; `switchHref` leads to the other. */
function content(v: PresentationView, lang: Lang, switchHref: string): string {
  const t = TEXT[lang]
  const w = VERIFY[lang]
  const c = v.certificate
  const row = (label: string, value: string, id: string) => `<dt id="${lang}-${id}-label">${esc(label)}</dt><dd aria-labelledby="${lang}-${id}-label" data-field="${id}">${value}</dd>`
  const other = otherOf(lang)
  const data = Object.entries(c.data)
  return `<header><h1>${esc(t.title)}</h1><nav><a href="${switchHref}" hreflang="${langAttr(other)}" lang="${langAttr(other)}">${TEXT[lang].other}</a></nav></header>
<section class="result ${tone(v.result)}" role="status" data-result="${v.result}">
<p>${esc(w.results[v.result]!)}${v.reason ? `<small>${esc(w.reasons[v.reason])}</small>` : ''}<small>${esc(t.shown)}</small></p>
</section>
<dl>
${row(t.name, esc(c.name), 'name')}
${c.typeName !== c.name ? row(t.type, esc(c.typeName), 'type') : ''}
${row(t.number, esc(c.number), 'number')}
${row(t.holder, esc(c.holder.name), 'holder')}
${row(t.holderId, `${esc(c.holder.id)}${c.holder.idType === '001' ? '' : ` <small>${esc(t.idNote)}</small>`}`, 'holder-id')}
${row(t.issuer, esc(c.issuer.name), 'issuer')}
${row(t.issuedOn, esc(c.issuedOn), 'issued-on')}
${row(w.validity, esc(`${c.validFrom} ${w.to} ${c.validUntil ?? w.longTerm}`), 'validity')}
${row(w.status, `${esc(w.statuses[v.status] ?? v.status)}${w.since} <time datetime="${esc(v.statusChangedAt)}">${esc(chinaTime(v.statusChangedAt))}</time> (${w.tz})`, 'status')}
${row(t.id, esc(c.id), 'id')}
</dl>
${data.length > 0 ? `<h2>${esc(t.data)}</h2><dl class="data">${data.map(([k, value]) => row(k, esc(text(value)), `data-${esc(k)}`)).join('\n')}</dl>` : ''}
<footer><p>${w.checkedAt}${w.colon}<time datetime="${esc(v.checkedAt)}">${esc(chinaTime(v.checkedAt))}</time> (${w.tz})</p><p>${esc(t.note)}</p></footer>`
}

/** The page a presentation's QR code leads to, the first time: both languages, `lang` first. */
export function presentationPage(v: PresentationView, lang: Lang): string {
  const other = otherOf(lang)
  const body = `<style>${SWITCH_STYLE}</style>
<div class="alt" id="${other}" lang="${langAttr(other)}">
${content(v, other, `#${lang}`)}
</div>
<div class="primary" id="${lang}">
${content(v, lang, `#${other}`)}
</div>`
  return page(lang, `${VERIFY[lang].results[v.result]} · ${TEXT[lang].title}`, body)
}

/** A used, late or unknown presentation: says which, and nothing about any certificate. */
export function refusedPage(why: Refusal, lang: Lang): string {
  const t = TEXT[lang]
  const [title, hint] = t.refused[why]
  const other = otherOf(lang)
  const body = `<header><h1>${esc(t.title)}</h1><nav><a href="?lang=${other}" hreflang="${langAttr(other)}" lang="${langAttr(other)}">${t.other}</a></nav></header>
<section class="result bad" role="status" data-result="${why}">
<p>${esc(title)}<small>${esc(hint)}</small></p>
</section>
<footer><p>${esc(t.refusedNote)}</p></footer>`
  return page(lang, `${title} · ${t.title}`, body)
}

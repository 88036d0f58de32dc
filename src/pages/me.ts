import type { CertificateStatus } from '../certificates/schemas.js'
import type { entryOf } from '../me/routes.js'
import { esc, page, type Lang } from './html.js'
import type { SignInReason } from './session.js'
import { chinaTime } from './verification.js'

/** One of the holder's certificates as the page shows it. */
export interface MyCertificateCard {
  id: string
  typeName: string
  issuerName: string
  /** As printed, with any ID-number-shaped run masked. */
  number: string
  validFrom: string
  validUntil: string | null
  status: CertificateStatus
  statusChangedAt: string
  /** In force today: only such a certificate can be shown (出示). */
  inForce: boolean
  verifyUrl: string
  qrSvg: string
}

/** An access-log entry as GET /v1/me/access-log gives it; `presentation` once 亮证 events carry it. */
export type MyAccessEntry = ReturnType<typeof entryOf> & { presentation?: boolean }

export interface MyPageView {
  /** The holder's own name, from their newest certificate: this page is theirs alone. */
  holderName: string | null
  certificates: MyCertificateCard[]
  entries: MyAccessEntry[]
  nextCursor?: string
  /** Not the newest page of the log. */
  older: boolean
  /** Whether 出示 (presentations) is offered. */
  canPresent: boolean
}

const TEXT = {
  zh: {
    other: 'English',
    otherHref: '?lang=en',
    otherLang: 'en',
    title: '我的证照',
    signInTitle: '登录 · 我的证照',
    signOut: '退出登录',
    certificates: '证照',
    none: '暂无证照。',
    issuer: '发证机关',
    number: '证照编号',
    validity: '有效期',
    longTerm: '长期',
    to: '至',
    status: '当前状态',
    since: '，自',
    tz: '北京时间',
    statuses: { valid: '有效', suspended: '暂停', revoked: '撤销', superseded: '已被取代' } as Record<string, string>,
    expired: '已过有效期',
    notYet: '尚未生效',
    qrLabel: '核验二维码',
    qrCaption: '他人扫描此码可核验这份证照（只显示遮挡后的姓名）。',
    openVerify: '打开核验页',
    present: '出示',
    presentHint: '生成一次性二维码给办事人员查看',
    log: '谁查看了我的证照',
    logNone: '没有访问记录。',
    unknownOrg: '未登记名称的机构',
    did: {
      'access.lookup': (o: string) => `${o} 查询了您的证照`,
      'access.read': (o: string) => `${o} 读取了您的证照`,
      'access.verify': (o: string) => `${o} 核验了您的证照`,
      'access.denied': (o: string) => `${o} 的查询被拒绝`,
      'access.audit': (o: string) => `${o} 的审计人员检索了您的记录`,
    } as Record<string, (org: string) => string>,
    unknownKind: (o: string, kind: string) => `${o}：${kind}`,
    scan: '持有打印二维码的人扫码核验了您的证照',
    publicCheck: '有人通过公开核验核对了其持有的副本（无账号）',
    shown: (o: string | null) => `您出示，${o ?? '扫描二维码的人'}查看`,
    matter: '事项',
    reason: '事由',
    concerning: '涉及',
    colon: '：',
    outcomes: { none: '未找到符合条件的证照', TYPE_NOT_GRANTED: '未获授权查询该类证照' } as Record<string, string>,
    newest: '最新记录',
    presentTitle: '出示证照',
    presentExpires: '二维码有效至',
    presentLead: '请办事人员扫描此二维码',
    presentUntil: (t: string) => `有效至 ${t}（北京时间），只能使用一次。对方扫码后可看到这份证照的全部内容。`,
    done: '完成',
    cannotShow: { CERTIFICATE_NOT_IN_FORCE: '这份证照当前不在有效期内或已被撤销、暂停、取代，不能出示。', CERTIFICATE_NOT_FOUND: '没有找到这份证照。' } as Record<string, string>,
    older: '更早的记录',
    note: '本页显示您的姓名，因为这是您本人的页面；页面不显示身份证件号码。机构的名称和统一社会信用代码由服务登记；具体经办人员不向您显示，由机构和审计人员掌握。',
  },
  en: {
    other: '中文',
    otherHref: '?lang=zh',
    otherLang: 'zh-CN',
    title: 'My certificates',
    signInTitle: 'Sign in · My certificates',
    signOut: 'Sign out',
    certificates: 'Certificates',
    none: 'No certificates yet.',
    issuer: 'Issued by',
    number: 'Number',
    validity: 'Valid',
    longTerm: 'long-term',
    to: 'to',
    status: 'Status',
    since: ', since',
    tz: 'China Standard Time',
    statuses: { valid: 'valid', suspended: 'suspended', revoked: 'revoked', superseded: 'superseded' } as Record<string, string>,
    expired: 'expired',
    notYet: 'not yet in force',
    qrLabel: 'Verification QR code',
    qrCaption: 'Anyone who scans this code can check this certificate (they see your name partly hidden).',
    openVerify: 'Open the verification page',
    present: 'Show',
    presentHint: 'a one-time QR code for a clerk to see this certificate',
    log: 'Who looked at my certificates',
    logNone: 'No accesses recorded.',
    unknownOrg: 'an organisation without a registered name',
    did: {
      'access.lookup': (o: string) => `${o} looked up your certificates`,
      'access.read': (o: string) => `${o} read your certificate`,
      'access.verify': (o: string) => `${o} verified your certificate`,
      'access.denied': (o: string) => `${o} was refused`,
      'access.audit': (o: string) => `${o}'s auditors searched your records`,
    } as Record<string, (org: string) => string>,
    unknownKind: (o: string, kind: string) => `${o}: ${kind}`,
    scan: 'Scanned by someone holding the printed code',
    publicCheck: 'Checked by someone holding a copy (public verification, no account)',
    shown: (o: string | null) => `Shown by you, seen by ${o ?? 'the person who scanned your code'}`,
    matter: 'Matter',
    reason: 'Reason',
    concerning: 'Concerning',
    colon: ': ',
    outcomes: { none: 'nothing matching was found', TYPE_NOT_GRANTED: 'not granted this type of certificate' } as Record<string, string>,
    newest: 'Newest',
    presentTitle: 'Show a certificate',
    presentExpires: 'Code valid until',
    presentLead: 'Let the clerk scan this code',
    presentUntil: (t: string) => `Valid until ${t} (China Standard Time), once. Whoever scans it sees all of this certificate.`,
    done: 'Done',
    cannotShow: { CERTIFICATE_NOT_IN_FORCE: 'This certificate is not in force (expired, not yet valid, revoked, suspended or superseded) and cannot be shown.', CERTIFICATE_NOT_FOUND: 'No such certificate of yours.' } as Record<string, string>,
    older: 'Older',
    note: 'Your name is shown because this page is yours alone; no ID number is shown. Organisations are named as registered with the service; the individual member of staff is not shown to you: the organisation and the auditors know who it was.',
  },
} as const

const SIGN_IN = {
  zh: {
    reasons: {
      required: '请先登录。',
      expired: '您的登录已过期，请重新登录。',
      invalid: '令牌无效，未能登录。',
      'not-holder': '该令牌不是持证人令牌（需要 holder 角色），未能登录。',
      'signed-out': '您已退出登录。',
    } as Record<SignInReason, string>,
    label: '持证人令牌',
    hint: '开发环境：用以下命令生成令牌，整段粘贴到上面：',
    submit: '登录',
    production: '本服务通过统一身份认证登录。请从您所在地区的政务服务平台登录后再打开“我的证照”。',
    crossOrigin: '此表单不是从本站页面提交的，已拒绝。请回到“我的证照”重新操作。',
    back: '返回我的证照',
  },
  en: {
    reasons: {
      required: 'Please sign in.',
      expired: 'Your sign-in has expired: sign in again.',
      invalid: 'The token was refused.',
      'not-holder': 'This is not a holder token (it needs the holder role).',
      'signed-out': 'You have signed out.',
    } as Record<SignInReason, string>,
    label: 'Holder token',
    hint: 'Development: make a token with this command and paste all of it above:',
    submit: 'Sign in',
    production: "This service signs you in through the government identity provider: sign in on your region's service portal, then open My certificates.",
    crossOrigin: "This form was not sent from this service's own page, and was refused. Go back to My certificates and try again.",
    back: 'Back to My certificates',
  },
} as const

const withLang = (path: string, lang: Lang, query: Record<string, string> = {}): string => {
  const q = new URLSearchParams({ ...(lang === 'en' ? { lang } : {}), ...query }).toString()
  return q ? `${path}?${q}` : path
}

function header(lang: Lang, title: string): string {
  const t = TEXT[lang]
  return `<header><h1>${esc(title)}</h1><nav><a href="${t.otherHref}" hreflang="${t.otherLang}" lang="${t.otherLang}">${t.other}</a></nav></header>`
}

const langField = (lang: Lang) => `<input type="hidden" name="lang" value="${lang}">`
const time = (iso: string, lang: Lang) => `<time datetime="${esc(iso)}">${esc(chinaTime(iso))}</time> (${TEXT[lang].tz})`

function stateOf(c: MyCertificateCard, lang: Lang, today: string): string {
  const t = TEXT[lang]
  if (c.status === 'valid' && !c.inForce) return c.validFrom > today ? t.notYet : t.expired
  return t.statuses[c.status] ?? c.status
}

function card(c: MyCertificateCard, lang: Lang, canPresent: boolean, today: string): string {
  const t = TEXT[lang]
  const row = (label: string, value: string) => `<dt>${esc(label)}</dt><dd>${value}</dd>`
  const svg = c.qrSvg.replace('<svg ', `<svg role="img" aria-label="${esc(t.qrLabel)}" `)
  const present = canPresent && c.inForce
    ? `<form method="post" action="/me/certificates/${encodeURIComponent(c.id)}/present">${langField(lang)}<button type="submit" aria-describedby="present-${esc(c.id)}">${t.present}</button> <small id="present-${esc(c.id)}">${t.presentHint}</small></form>`
    : ''
  return `<article class="card" data-certificate="${esc(c.id)}" data-status="${c.status}">
<h3>${esc(c.typeName)}</h3>
<dl>
${row(t.issuer, esc(c.issuerName))}
${row(t.number, esc(c.number))}
${row(t.validity, esc(`${c.validFrom} ${t.to} ${c.validUntil ?? t.longTerm}`))}
${row(t.status, `<span class="${c.inForce ? 'ok-text' : 'bad-text'}">${esc(stateOf(c, lang, today))}</span>${t.since} ${time(c.statusChangedAt, lang)}`)}
</dl>
<figure class="qr">${svg}<figcaption>${esc(t.qrCaption)} <a href="${esc(c.verifyUrl)}">${t.openVerify}</a></figcaption></figure>
${present}
</article>`
}

/** The sentence saying who did what: organisations by name, anonymous verifiers by how they came. */
function whoDid(e: MyAccessEntry, lang: Lang): string {
  const t = TEXT[lang]
  const org = e.organisation.name ?? e.organisation.code
  if (e.presentation) return t.shown(org)
  if (e.anonymous === 'scan') return t.scan
  if (e.anonymous === 'public') return t.publicCheck
  const name = org ?? t.unknownOrg
  return t.did[e.kind]?.(name) ?? t.unknownKind(name, e.kind)
}

function entry(e: MyAccessEntry, lang: Lang, names: Map<string, string>): string {
  const t = TEXT[lang]
  const meta = [time(e.at, lang)]
  if (e.matterCode) meta.push(`${t.matter} ${esc(e.matterCode)}`)
  if (e.reason) meta.push(`${t.reason}${t.colon}${esc(e.reason)}`)
  const outcome = e.outcome && e.outcome !== 'found' ? `<p class="meta">${esc(t.outcomes[e.outcome] ?? e.outcome)}</p>` : ''
  const about = e.certificateIds.length > 0 ? `<p class="meta">${t.concerning}${t.colon}${e.certificateIds.map((id) => esc(names.get(id) ?? id)).join('、')}</p>` : ''
  const denied = e.kind === 'access.denied'
  return `<li class="${denied ? 'denied' : ''}" data-kind="${esc(e.kind)}"${e.anonymous ? ` data-anonymous="${e.anonymous}"` : ''}><p><strong>${esc(whoDid(e, lang))}</strong></p><p class="meta">${meta.join(' · ')}</p>${outcome}${about}</li>`
}

/** GET /me: the holder's certificates with their QR codes, and who looked at them, newest first. */
export function myPage(v: MyPageView, lang: Lang, today: string): string {
  const t = TEXT[lang]
  const names = new Map(v.certificates.map((c) => [c.id, `${c.typeName} ${c.number}`]))
  const pager = [
    v.older ? `<a href="${withLang('/me', lang)}">${t.newest}</a>` : '<span></span>',
    v.nextCursor ? `<a href="${withLang('/me', lang, { cursor: v.nextCursor })}" rel="next">${t.older}</a>` : '',
  ].join('')
  const body = `${header(lang, t.title)}
<div class="who">${v.holderName ? `<strong>${esc(v.holderName)}</strong>` : ''}<form method="post" action="/me/sign-out">${langField(lang)}<button type="submit" class="secondary">${t.signOut}</button></form></div>
<section aria-labelledby="certificates"><h2 id="certificates">${t.certificates}</h2>
${v.certificates.length > 0 ? v.certificates.map((c) => card(c, lang, v.canPresent, today)).join('\n') : `<p>${t.none}</p>`}
</section>
<section aria-labelledby="log"><h2 id="log">${t.log}</h2>
${v.entries.length > 0 ? `<ol class="log">${v.entries.map((e) => entry(e, lang, names)).join('\n')}</ol>` : `<p>${t.logNone}</p>`}
<nav class="pager" aria-label="${t.log}">${pager}</nav>
</section>
<footer><p>${esc(t.note)}</p></footer>`
  return page(lang, t.title, body)
}

/** GET /me/sign-in, and the same page saying why a sign-in was refused or ended. */
export function signInPage(lang: Lang, opts: { reason?: SignInReason; code?: string; detail?: string; pasteForm: boolean }): string {
  const t = TEXT[lang]
  const s = SIGN_IN[lang]
  const tone = opts.reason === 'signed-out' || opts.reason === 'required' ? 'warn' : 'bad'
  const message = opts.reason
    ? `<section class="result ${tone}" role="alert" data-reason="${opts.reason}"${opts.code ? ` data-code="${esc(opts.code)}"` : ''}><p>${esc(s.reasons[opts.reason])}${opts.detail ? `<small lang="en">${esc(opts.detail)}</small>` : ''}</p></section>`
    : ''
  const form = opts.pasteForm
    ? `<form method="post" action="/me/sign-in">${langField(lang)}<label for="token">${s.label}</label><textarea id="token" name="token" rows="6" required autocomplete="off" autocapitalize="off" spellcheck="false"></textarea><p><button type="submit">${s.submit}</button></p></form>
<p class="meta">${s.hint}</p><pre><code>zhengzhao token --role holder --org 11100000000013338W --sub citizen-1 --id-type 111 --id …</code></pre>`
    : `<p>${esc(s.production)}</p>`
  return page(lang, t.signInTitle, `${header(lang, t.signInTitle)}\n${message}\n${form}`)
}

/** A POST that did not come from this service's own page (CSRF check). */
export function crossOriginPage(lang: Lang): string {
  const s = SIGN_IN[lang]
  return page(lang, TEXT[lang].title, `${header(lang, TEXT[lang].title)}
<section class="result bad" role="alert" data-code="FORBIDDEN"><p>${esc(s.crossOrigin)}</p></section>
<p><a href="${withLang('/me', lang)}">${s.back}</a></p>`)
}

/** The time of day in China with seconds: a presentation lives minutes, not days. */
const chinaClock = (iso: string) => new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(11, 19)

/** POST /me/certificates/{id}/present: the one-time QR code, big, with its expiry and a way back. */
export function presentationPage(lang: Lang, p: { typeName: string; number: string; qrSvg: string; expiresAt: string }): string {
  const t = TEXT[lang]
  const svg = p.qrSvg.replace('<svg ', `<svg role="img" aria-label="${esc(t.presentLead)}" `)
  const body = `<header><h1>${esc(t.presentTitle)}</h1></header>
<section class="result ok" role="status"><p>${esc(t.presentLead)}<small>${esc(t.presentUntil(chinaClock(p.expiresAt)))}</small></p></section>
<figure class="qr qr-big">${svg}</figure>
<dl><dt>${esc(p.typeName)}</dt><dd>${esc(p.number)}</dd><dt>${t.presentExpires}</dt><dd><time datetime="${esc(p.expiresAt)}" data-expires>${esc(chinaClock(p.expiresAt))}</time> (${t.tz})</dd></dl>
<p><a href="${withLang('/me', lang)}">${t.done}</a></p>`
  return page(lang, t.presentTitle, body)
}

/** A certificate that cannot be shown: says why, and the way back. */
export function cannotPresentPage(lang: Lang, code: string): string {
  const t = TEXT[lang]
  const body = `<header><h1>${esc(t.presentTitle)}</h1></header>
<section class="result bad" role="alert" data-code="${esc(code)}"><p>${esc(t.cannotShow[code] ?? code)}</p></section>
<p><a href="${withLang('/me', lang)}">${t.done}</a></p>`
  return page(lang, t.presentTitle, body)
}

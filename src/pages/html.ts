import { createHash } from 'node:crypto'

/** Text made safe for HTML element content and quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

export type Lang = 'zh' | 'en'

export function langOf(query: unknown): Lang {
  return (query as { lang?: unknown } | undefined)?.lang === 'en' ? 'en' : 'zh'
}

// One stylesheet for every page, inline so a page is one request on a slow phone, and allowed
// by its hash: the CSP admits this exact text and no other style, and no script at all.
const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1a1a1a;background:#f4f5f7}
main{max-width:40rem;margin:0 auto;padding:1rem}
header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;flex-wrap:wrap}
h1{font-size:1.25rem;margin:.5rem 0}
nav a{color:#0b4f9c}
.result{border-radius:.5rem;padding:1rem;margin:1rem 0;border:2px solid}
.result p{margin:0;font-size:1.35rem;font-weight:700}
.result small{display:block;font-size:.95rem;font-weight:400;margin-top:.25rem}
.ok{background:#e8f5ec;border-color:#1e7b34;color:#0f4d1f}
.warn{background:#fff6e0;border-color:#a86a00;color:#5c3a00}
.bad{background:#fdecec;border-color:#b3261e;color:#6e1410}
dl{background:#fff;border-radius:.5rem;padding:.5rem 1rem;margin:0}
dt{font-size:.85rem;color:#4a4f57;margin-top:.5rem}
dd{margin:0 0 .5rem;overflow-wrap:anywhere}
footer{font-size:.85rem;color:#4a4f57;margin-top:1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .25rem}
.card{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
.card dl{padding:0}
.ok-text{color:#0f4d1f;font-weight:700}
.bad-text{color:#6e1410;font-weight:700}
.qr{margin:.5rem 0;text-align:center;font-size:.9rem;color:#4a4f57}
.qr svg{display:block;width:12rem;max-width:100%;height:auto;margin:0 auto}
.qr-big svg{width:20rem}
.log{list-style:none;padding:0;margin:0}
.log li{background:#fff;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 .5rem;border-left:4px solid #0b4f9c;overflow-wrap:anywhere}
.log li.denied{border-left-color:#b3261e}
.log p{margin:0}
.meta{font-size:.9rem;color:#4a4f57}
.who{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
.pager{display:flex;justify-content:space-between;margin:1rem 0}
label{display:block;font-weight:700;margin:.5rem 0 .25rem}
textarea{width:100%;font:14px/1.4 ui-monospace,monospace;padding:.5rem;border:1px solid #6b7280;border-radius:.375rem}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #0b4f9c;background:#0b4f9c;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b4f9c}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:.5rem;border-radius:.375rem;font-size:.85rem}
`.trim()

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64')

/** The pages' Content-Security-Policy: nothing loads or runs but this page's own stylesheet. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`

/** A whole page: `lang` set, phone-width viewport, the shared stylesheet, no script. */
export function page(lang: Lang, title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

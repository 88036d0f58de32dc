import QRCode from 'qrcode'

// Error correction M (15%): survives a crease or a stamp on a paper copy and stays small enough
// to scan from a phone at arm's length.
const OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const

/** The QR code of a URL as an SVG document. */
export function qrSvg(url: string): Promise<string> {
  return QRCode.toString(url, { ...OPTIONS, type: 'svg' })
}

/** The QR code of a URL as a PNG, 8 pixels a module. */
export function qrPng(url: string): Promise<Buffer> {
  return QRCode.toBuffer(url, { ...OPTIONS, type: 'png', scale: 8 })
}

import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { OfdError } from './errors.js'

/**
 * OFD's XML, read safely: UTF-8 only, and no document type declaration at all. OFD needs none,
 * and a DTD is how external entities (XXE) and entity expansion (billion laughs) get in; so the
 * parser never sees one. Namespace prefixes are dropped (`ofd:Signature` → `Signature`): files in
 * the wild use both the 2016 namespace and older ones.
 */

export type XmlNode = { [name: string]: XmlValue }
export type XmlValue = string | XmlNode | XmlNode[] | string[] | undefined

// Elements that may repeat, by their path: they always come back as arrays.
const REPEATED = new Set(['OFD.DocBody', 'Signatures.Signature', 'Signature.SignedInfo.References.Reference', 'OFD.DocBody.DocInfo.CustomDatas.CustomData'])

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  textNodeName: '#text',
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
})

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function parseXml(bytes: Uint8Array, what: string): XmlNode {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new OfdError('XML_INVALID', `${what} is not UTF-8`)
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new OfdError('XML_DTD_NOT_ALLOWED', `${what} declares a DTD or entities, which OFD never needs`)
  const valid = XMLValidator.validate(text)
  if (valid !== true) throw new OfdError('XML_INVALID', `${what} is not well-formed XML (line ${valid.err.line})`)
  return parser.parse(text) as XmlNode
}

/** The element at `path` below `node` (namespace-free names), if it is an element. */
export function child(node: XmlValue, ...path: string[]): XmlNode | undefined {
  let at: XmlValue = node
  for (const name of path) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined
    at = at[name]
    if (Array.isArray(at)) at = at[0]
  }
  return at && typeof at === 'object' && !Array.isArray(at) ? at : undefined
}

/** The text of the element at `path` (an element with attributes keeps its text in #text). */
export function text(node: XmlValue, ...path: string[]): string | undefined {
  let at: XmlValue = node
  for (const name of path) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined
    at = at[name]
    if (Array.isArray(at)) at = at[0] as XmlValue
  }
  if (typeof at === 'string') return at
  if (at && typeof at === 'object' && !Array.isArray(at) && typeof at['#text'] === 'string') return at['#text']
  return undefined
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[`@${name}`]
  return typeof v === 'string' ? v : undefined
}

/** The elements at `path`, always as a list. */
export function children(node: XmlValue, ...path: string[]): XmlNode[] {
  const parent = child(node, ...path.slice(0, -1))
  const v = parent?.[path[path.length - 1]!]
  if (v === undefined) return []
  const list = Array.isArray(v) ? v : [v]
  return list.map((e) => (typeof e === 'string' ? { '#text': e } : e)) as XmlNode[]
}

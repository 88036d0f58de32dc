import type { PackageFiles } from './zip.js'

/**
 * Where a location written in an OFD file points inside the package. OFD writes `/Doc_0/…`
 * (from the package root) or `Doc_0/…` and `Sign_0/…` (relative to the file that names it); the
 * wild also has root paths without the slash. A relative location is tried against the naming
 * file's folder first, then against the root. Nothing may climb out of the package.
 */
export function resolveLocation(files: PackageFiles, location: string, fromFile: string): string | undefined {
  const loc = location.trim().replace(/\\/g, '/')
  if (loc === '') return undefined
  const candidates = loc.startsWith('/') ? [normalise(loc.slice(1))] : [normalise(`${folderOf(fromFile)}${loc}`), normalise(loc)]
  return candidates.find((c): c is string => c !== undefined && files.has(c))
}

export function folderOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i + 1)
}

/** Collapses `.` and `..`; undefined when the path would leave the package. */
function normalise(path: string): string | undefined {
  const out: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length === 0) return undefined
      out.pop()
    } else out.push(segment)
  }
  return out.join('/')
}

/**
 * Route patterns: `/users/:id` (a named segment matches one non-empty segment), and a
 * trailing `/*` matching the rest of the path (or nothing). Everything else matches
 * literally. Matching is on the decoded-as-sent path, case-sensitive.
 */
import { MppError } from '../errors.js'

export type PathMatcher = (pathname: string) => boolean

/**
 * Compiles a pattern once; throws `configuration-invalid` for one that does not start
 * with `/` or has `*` anywhere but as its last segment.
 *
 * @example
 * compilePath('/v1/*')('/v1/chat/completions') // true
 */
export function compilePath(pattern: string): PathMatcher {
  if (!pattern.startsWith('/')) throw new MppError('configuration-invalid', 'a route path must start with "/"')
  const segments = pattern.split('/').slice(1)
  const rest = segments.at(-1) === '*'
  const fixed = rest ? segments.slice(0, -1) : segments
  if (fixed.some((segment) => segment.includes('*')))
    throw new MppError('configuration-invalid', 'a route path may use "*" only as its last segment')
  return (pathname) => {
    const parts = pathname.split('/').slice(1)
    if (rest ? parts.length < fixed.length : parts.length !== fixed.length) return false
    return fixed.every((segment, i) => (segment.startsWith(':') ? parts[i]!.length > 0 : segment === parts[i]))
  }
}

/**
 * Whether a path could mean another path to the upstream than the one matched here: an
 * encoded `/` or `\`, or an encoded dot segment. An upstream that decodes
 * `/free/..%2Fpaid` before routing would serve a paid route through a free one.
 *
 * @example
 * isAmbiguousPath('/free/..%2Fpaid') // true
 */
export function isAmbiguousPath(pathname: string): boolean {
  if (/%(2f|5c)/i.test(pathname)) return true
  return pathname.split('/').some((segment) => /%2e/i.test(segment) && /^(\.|%2e){1,2}$/i.test(segment))
}

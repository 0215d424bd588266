import { MppError } from '../errors.js'

// Matches a UTF-16 surrogate that is not part of a pair (the `u` flag makes a
// well-formed pair one code point, so only lone halves match).
const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * Deepest nesting of arrays and objects {@link canonicalize} accepts: a top-level
 * object is depth 1. MPP's `request` and `opaque` are flat or nearly so; the limit
 * turns a hostile or cyclic value into a typed error instead of a stack overflow.
 */
export const MAX_DEPTH = 64

/**
 * JSON Canonicalization Scheme (RFC 8785).
 *
 * Keys are sorted by UTF-16 code units (JavaScript's default string order), there is
 * no whitespace, and numbers use the ECMAScript shortest form, which is what
 * RFC 8785 §3.2.2.3 prescribes. Inputs JSON cannot represent exactly (NaN, ±Infinity,
 * lone surrogates, bigint, functions, class instances) are errors, not coerced.
 * `undefined` object members are omitted, as JSON.stringify omits them. Values
 * nested deeper than `maxDepth` (default {@link MAX_DEPTH}) throw `jcs-too-deep`.
 */
export function canonicalize(value: unknown, options: { maxDepth?: number } = {}): string {
  return write(value, 0, options.maxDepth ?? MAX_DEPTH)
}

function write(value: unknown, depth: number, maxDepth: number): string {
  switch (typeof value) {
    case 'string':
      return string(value)
    case 'number':
      if (!Number.isFinite(value)) throw invalid('a non-finite number')
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object': {
      if (value === null) return 'null'
      if (++depth > maxDepth)
        throw new MppError('jcs-too-deep', `JSON nests arrays and objects deeper than ${maxDepth} levels`)
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          if (value[i] === undefined) throw invalid('an undefined array element')
          out += (i ? ',' : '') + write(value[i], depth, maxDepth)
        }
        return out + ']'
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) throw invalid('a non-plain object')
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).sort()
      let out = '{'
      let first = true
      for (const key of keys) {
        const member = record[key]
        if (member === undefined) continue
        out += (first ? '' : ',') + string(key) + ':' + write(member, depth, maxDepth)
        first = false
      }
      return out + '}'
    }
    default:
      throw invalid(`a value of type ${typeof value}`)
  }
}

function string(value: string): string {
  if (LONE_SURROGATE.test(value)) throw invalid('a lone surrogate in a string')
  return JSON.stringify(value)
}

function invalid(what: string): MppError {
  return new MppError('jcs-invalid', `JCS cannot represent ${what}`)
}

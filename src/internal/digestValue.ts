import { parseByteSequenceDictionary } from './structuredFields.js'

/**
 * A body digest value in either of the two spellings seen on the wire:
 *
 * - `rfc9530`: an RFC 8941 Dictionary of Byte Sequences, `sha-256=:<base64>:`, which
 *   is what draft-httpauth-payment §5.1.3 (via RFC 9530) specifies and what mppkit writes;
 * - `bare`: the same members without the colons, `sha-256=<base64>`, which other SDKs
 *   write. Only read where a caller asks for it (`bare: true`).
 */
export type DigestForm = 'rfc9530' | 'bare'

export type DigestValue = { readonly form: DigestForm; readonly members: Map<string, Uint8Array> }

/** The members of a digest value, or `undefined` when it is neither form (or `bare` is not allowed). */
export function parseDigestValue(value: string, options: { bare?: boolean } = {}): DigestValue | undefined {
  const members = parseByteSequenceDictionary(value)
  if (members) return { form: 'rfc9530', members }
  if (!options.bare) return undefined
  const bare = parseBare(value)
  return bare && { form: 'bare', members: bare }
}

// `key=<base64>` members separated by commas: RFC 8941 keys, standard base64 (padding optional).
const BARE_MEMBER = /^([a-z*][a-z0-9_.*-]*)=((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?)$/

function parseBare(value: string): Map<string, Uint8Array> | undefined {
  const out = new Map<string, Uint8Array>()
  for (const part of value.split(',')) {
    const match = BARE_MEMBER.exec(part.trim())
    if (!match || match[2] === '') return undefined
    const text = match[2]!
    const binary = atob(text.padEnd(Math.ceil(text.length / 4) * 4, '='))
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    out.set(match[1]!, bytes)
  }
  return out.size > 0 ? out : undefined
}

/**
 * The slice of RFC 8941 structured fields that RFC 9530 digests need: a Dictionary
 * whose members are Byte Sequences (`key=:base64:`), member parameters ignored.
 * Returns `undefined` for anything that is not such a dictionary.
 */
export function parseByteSequenceDictionary(input: string): Map<string, Uint8Array> | undefined {
  const out = new Map<string, Uint8Array>()
  const s = input.trim()
  let i = 0
  while (i < s.length) {
    const keyMatch = KEY.exec(s.slice(i))
    if (!keyMatch) return undefined
    const key = keyMatch[0]
    i += key.length
    if (s[i] !== '=' || s[i + 1] !== ':') return undefined
    const end = s.indexOf(':', i + 2)
    if (end < 0) return undefined
    const bytes = decodeBase64(s.slice(i + 2, end))
    if (!bytes) return undefined
    i = end + 1
    // Parameters (`;name=value`) are allowed by RFC 8941 and carry nothing we use.
    while (s[i] === ';') {
      const param = PARAM.exec(s.slice(i))
      if (!param) return undefined
      i += param[0].length
    }
    out.set(key, bytes) // RFC 8941 §4.2.2: a later duplicate overrides an earlier one
    const sep = SEPARATOR.exec(s.slice(i))
    if (i >= s.length) break
    if (!sep) return undefined
    i += sep[0].length
    if (i >= s.length) return undefined // trailing comma
  }
  return out.size > 0 ? out : undefined
}

/** Serializes one dictionary member as `key=:base64:`. */
export function serializeByteSequence(key: string, bytes: Uint8Array): string {
  return `${key}=:${encodeBase64(bytes)}:`
}

const KEY = /^[a-z*][a-z0-9_.*-]*/
const PARAM = /^;[ ]*[a-z*][a-z0-9_.*-]*(=("[^"\\]*"|[^;,\s]*))?/
const SEPARATOR = /^[ \t]*,[ \t]*/
// RFC 8941 §4.2.7: parsers SHOULD NOT fail when "=" padding is absent.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined
  const binary = atob(text.padEnd(Math.ceil(text.length / 4) * 4, '='))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

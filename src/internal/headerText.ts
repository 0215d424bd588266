import * as Utf8 from './utf8.js'

/**
 * Header values travel as bytes, and `fetch` exposes them as "byte strings" (one
 * char per byte, U+0000..U+00FF). mppkit carries non-ASCII text (a `description`)
 * as UTF-8 bytes in quoted-string obs-text, which is what RFC 9110 permits and
 * what every HTTP stack transmits unchanged.
 */

/** Text -> byte string of its UTF-8 encoding (identity for ASCII). */
export function toByteString(text: string): string {
  if (isAscii(text)) return text
  let out = ''
  for (const byte of Utf8.toBytes(text)) out += String.fromCharCode(byte)
  return out
}

/**
 * Byte string -> text, when the bytes are valid UTF-8. A string that already holds
 * code points above U+00FF, or bytes that are not UTF-8 (legacy Latin-1), is
 * returned as it is.
 */
export function fromByteString(value: string): string {
  if (isAscii(value)) return value
  const bytes = new Uint8Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c > 0xff) return value
    bytes[i] = c
  }
  try {
    return Utf8.fromBytes(bytes)
  } catch {
    return value
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

import { MppError } from '../errors.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const LOOKUP = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i

// Node's native codec, when the runtime has one; every other runtime uses the loops
// below. It is only ever handed input already checked to be strict.
const NativeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer
type NodeBufferLike = {
  from(text: string, encoding: 'base64url'): Uint8Array
  from(buffer: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64url'): string }
}
const ALPHABET_ONLY = /^[A-Za-z0-9_-]*$/
const NATIVE_THRESHOLD = 48

/** Unpadded base64url (RFC 4648 §5). */
export function encode(bytes: Uint8Array): string {
  if (NativeBuffer && bytes.length >= NATIVE_THRESHOLD)
    return NativeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url')
  let out = ''
  const n = bytes.length
  let i = 0
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + ALPHABET[v & 63]!
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]!
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]!
  }
  return out
}

/**
 * Strict unpadded base64url decoding: only `A-Z a-z 0-9 - _`, no padding, no
 * whitespace, and the unused trailing bits must be zero (one canonical spelling
 * per byte string, so two different wire strings never mean the same bytes).
 */
export function decode(text: string): Uint8Array<ArrayBuffer> {
  const n = text.length
  if (n % 4 === 1) throw invalid()
  if (NativeBuffer && n >= NATIVE_THRESHOLD) {
    if (!ALPHABET_ONLY.test(text)) throw invalid()
    // Canonical: the bits past the last whole byte must be zero.
    const last = sextet(text, n - 1)
    if ((n % 4 === 2 && last & 15) || (n % 4 === 3 && last & 3)) throw invalid()
    const bytes = NativeBuffer.from(text, 'base64url')
    return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length)
  }
  const out = new Uint8Array(Math.floor((n * 3) / 4))
  let o = 0
  let i = 0
  for (; i + 3 < n; i += 4) {
    const v = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3)
    out[o++] = v >> 16
    out[o++] = (v >> 8) & 255
    out[o++] = v & 255
  }
  const rest = n - i
  if (rest === 2) {
    const v = (sextet(text, i) << 6) | sextet(text, i + 1)
    if (v & 15) throw invalid()
    out[o++] = v >> 4
  } else if (rest === 3) {
    const v = (sextet(text, i) << 12) | (sextet(text, i + 1) << 6) | sextet(text, i + 2)
    if (v & 3) throw invalid()
    out[o++] = v >> 10
    out[o++] = (v >> 2) & 255
  }
  return out
}

function sextet(text: string, index: number): number {
  const c = text.charCodeAt(index)
  const v = c < 128 ? LOOKUP[c]! : -1
  if (v < 0) throw invalid()
  return v
}

function invalid(): MppError {
  return new MppError('base64url-invalid', 'value is not canonical unpadded base64url')
}

import { MppError } from '../errors.js'

const encoder = new TextEncoder()
// fatal: reject invalid UTF-8 instead of inserting U+FFFD; ignoreBOM: keep a BOM so
// that JSON parsing rejects it rather than silently dropping it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function toBytes(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text)
}

export function fromBytes(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new MppError('utf8-invalid', 'value is not valid UTF-8')
  }
}

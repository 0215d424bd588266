/**
 * Random bytes from the platform CSPRNG, drawn a page at a time: one
 * `crypto.getRandomValues` call serves hundreds of small requests (challenge nonces).
 */
const PAGE = 4096
let pool = new Uint8Array(0)
let offset = 0

export function randomBytes(length: number): Uint8Array {
  if (length > PAGE) return crypto.getRandomValues(new Uint8Array(length))
  if (offset + length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(PAGE))
    offset = 0
  }
  // A copy: bytes handed out are never handed out again, nor changed later.
  const bytes = pool.slice(offset, offset + length)
  offset += length
  return bytes
}

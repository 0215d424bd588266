/**
 * The client's address and the request's original scheme and host, handed to the
 * upstream the two conventional ways: `Forwarded` (RFC 7239) and `X-Forwarded-For`,
 * `X-Forwarded-Proto`, `X-Forwarded-Host`.
 */

export type ForwardedOptions = {
  /** The address of the peer that sent this request (a Web `Request` does not carry it). */
  clientAddress?: string | undefined
  /**
   * Keep and extend the `Forwarded` / `X-Forwarded-*` fields the request came with. Only
   * when every request reaches the gateway through a proxy you run: otherwise a client
   * could claim any address. Default false: the gateway's own view replaces them.
   */
  trust: boolean
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Sets the forwarding fields on `headers` (already a copy) for `url`, the URL the
 * client asked for.
 *
 * @example
 * setForwarded(headers, new URL('https://api.example.com/x'), { clientAddress: '203.0.113.9', trust: false })
 * // forwarded: for=203.0.113.9;proto=https;host=api.example.com
 */
export function setForwarded(headers: Headers, url: URL, options: ForwardedOptions): void {
  const address = options.clientAddress ?? 'unknown'
  const proto = url.protocol.slice(0, -1)
  const element = [`for=${value(forNode(address))}`, `proto=${value(proto)}`, `host=${value(url.host)}`].join(';')
  const priorForwarded = options.trust ? headers.get('forwarded') : null
  const priorFor = options.trust ? headers.get('x-forwarded-for') : null
  headers.set('forwarded', priorForwarded ? `${priorForwarded}, ${element}` : element)
  headers.set('x-forwarded-for', priorFor ? `${priorFor}, ${address}` : address)
  if (!options.trust || !headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto)
  if (!options.trust || !headers.has('x-forwarded-host')) headers.set('x-forwarded-host', url.host)
}

/** RFC 7239 §6: an IPv6 node is bracketed (and so must be quoted). */
function forNode(address: string): string {
  const unmapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
  return unmapped.includes(':') ? `[${unmapped}]` : unmapped
}

/** A token as is, anything else as a quoted-string with `"` and `\` escaped. */
function value(text: string): string {
  return TOKEN.test(text) ? text : `"${text.replace(/["\\]/g, '\\$&')}"`
}

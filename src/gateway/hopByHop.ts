/**
 * Hop-by-hop header fields (RFC 9110 §7.6.1): they describe one connection, so a proxy
 * removes them before forwarding, in both directions.
 */

/** Fields that are hop-by-hop whether or not `Connection` names them. */
const ALWAYS = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']

/**
 * A copy of `headers` without hop-by-hop fields: `Connection`, every field it names,
 * `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and every `Proxy-*`
 * field (`Proxy-Authorization` is for this hop's proxy, never the origin's).
 *
 * @example
 * stripHopByHop(new Headers({ connection: 'x-secret', 'x-secret': '1', accept: '*' })) // Headers { accept: '*' }
 */
export function stripHopByHop(headers: Headers): Headers {
  const copy = new Headers(headers)
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0)
  for (const name of [...ALWAYS, ...named]) copy.delete(name)
  for (const name of [...copy.keys()]) if (name.startsWith('proxy-')) copy.delete(name)
  return copy
}

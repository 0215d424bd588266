/**
 * The gateway as a `node:http` listener, handing the peer's address on as the client
 * address (`X-Forwarded-For`, `Forwarded`), which a Web `Request` cannot carry.
 *
 * @example
 * import { createServer } from 'node:http'
 * createServer(gatewayListener(gateway)).listen(3000)
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nodeHandler } from '../adapters/node.js'
import type { Gateway } from './createGateway.js'

export function gatewayListener(
  gateway: Gateway,
  options: { trustProxy?: boolean; onError?: (error: unknown) => void } = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return (req, res) => nodeHandler((request) => gateway(request, { clientAddress: req.socket.remoteAddress }), options)(req, res)
}

/** A ledger-method shop on loopback for `mppkit pay` tests, and the env a CLI child pays from it with. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPaymentServer } from '../../../src/server/index.js'
import * as Base64url from '../../../src/internal/base64url.js'
import { createLedger, type Account } from '../../../src/testing/index.js'
import { byPath, serve, type Loopback } from '../../support/loopback.js'

export const SECRET = 'cli-pay-test-secret-0123456789abcdef'

export type Shop = { api: Loopback; bank: ReturnType<typeof createLedger>; envFor(account: Account): Record<string, string> }

/** `/p` costs 0.25 usd and answers `{"ok":true}`; `/echo` costs 0.25 and echoes method, a header and the body; `/free` is free. */
export async function openShop(): Promise<Shop> {
  const bank = createLedger({ currency: 'usd', decimals: 2 })
  const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [bank.server({ recipient: 'shop' })] })
  const api = await serve(
    byPath({
      '/p': server.route({ price: '0.25' }, () => Response.json({ ok: true })),
      '/echo': server.route({ price: '0.25' }, async (request) =>
        Response.json({ method: request.method, tag: request.headers.get('x-tag'), body: await request.text() }, { headers: { 'x-shop': 'yes' } }),
      ),
      '/free': () => new Response('free body'),
    }),
  )
  return { api, bank, envFor: (account) => ({ MPPKIT_TEST_LEDGER: JSON.stringify({ id: account.id, key: Base64url.encode(account.key), currency: 'usd', decimals: 2 }) }) }
}

/**
 * A server that answers the unpaid request with a real challenge and drops the
 * connection when a credential arrives: the payer cannot know whether it was paid.
 */
export async function droppingShop(bank: ReturnType<typeof createLedger>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [bank.server({ recipient: 'shop' })] })
  const paid = server.route({ price: '0.25' }, () => Response.json({ ok: true }))
  const http: Server = createServer(async (req, res) => {
    if (req.headers.authorization) return req.socket.destroy()
    const answer = await paid(new Request(`http://127.0.0.1${req.url}`))
    res.writeHead(answer.status, Object.fromEntries(answer.headers))
    res.end(Buffer.from(await answer.arrayBuffer()))
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => http.close(() => resolve())) }
}

/**
 * The HTTP benchmark's server process (forked by bench/http.bench.ts, so it gets a core
 * of its own and the load generator does not share its event loop):
 *
 *   node --import tsx bench/support/httpServer.ts mppkit|mppx
 *
 * One node:http server on 127.0.0.1, a free port. Paths (dispatched on `req.url` before
 * any Web conversion, so dispatch costs the same everywhere):
 *
 *   mppkit   /raw     res.end(JSON) straight on node:http (no Web Request/Response, no payment)
 *            /free    nodeHandler(() => Response.json(...)): the same adapter as the paid routes, no payment
 *            /ledger  nodeHandler(server.route(...)) with the in-memory ledger method (src/testing)
 *            /bench   nodeHandler(server.route(...)) with the trivial bench method (bench/support/methods.ts)
 *   mppx     /free    Request.toNodeListener(() => Response.json(...)), no payment
 *            /bench   Request.toNodeListener(route) with the trivial bench method
 *
 * When listening it sends `{ port, payer: { id, key } }` to the parent: the ledger
 * account the parent's credentials pay from (the ledger lives in this process).
 * For bench/support/profileHttp.ts it also takes `{ profile: 'start' }` and
 * `{ profile: 'stop', path }` (CPU profile of the loaded window only; answers `{ profiled: path }`).
 */
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import { Mppx as MppxServer, Request as MppxRequest } from 'mppx/server'
import { nodeHandler } from '../../src/adapters/node.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { REALM, ROUTE, SECRET, mppkitBenchServer, mppxBenchServer, newBook } from './methods.js'

export const LEDGER = { id: 'payer', balance: 10n ** 30n } as const
const BODY = JSON.stringify({ ok: true })

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown

function mppkit(): { routes: Record<string, Listener>; payer: { id: string; key: number[] } } {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const payer = ledger.open(LEDGER.id, LEDGER.balance)
  const ledgerServer = createPaymentServer({ realm: REALM, secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
  const benchServer = createPaymentServer({ realm: REALM, secrets: [SECRET], methods: [mppkitBenchServer(newBook())] })
  const route = { amount: ROUTE.amount, currency: ROUTE.currency }
  const ok = () => Response.json({ ok: true })
  return {
    routes: {
      '/raw': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(BODY)
      },
      '/free': nodeHandler(ok),
      '/ledger': nodeHandler(ledgerServer.route(route, ok)),
      '/bench': nodeHandler(benchServer.route(route, ok)),
    },
    payer: { id: payer.id, key: [...payer.key] },
  }
}

function mppx(): { routes: Record<string, Listener>; payer: { id: string; key: number[] } } {
  const server = MppxServer.create({ methods: [mppxBenchServer(newBook())], secretKey: SECRET, realm: REALM })
  const route = server.bench.charge({ ...ROUTE })
  return {
    routes: {
      '/free': MppxRequest.toNodeListener(() => Response.json({ ok: true })),
      '/bench': MppxRequest.toNodeListener(async (request) => {
        const result = await route(request)
        if (result.status === 402) return result.challenge
        return result.withReceipt(Response.json({ ok: true }))
      }),
    },
    payer: { id: '', key: [] },
  }
}

const which = process.argv[2]
if (which !== 'mppkit' && which !== 'mppx') throw new Error('usage: httpServer.ts mppkit|mppx')
const { routes, payer } = which === 'mppkit' ? mppkit() : mppx()
const server = createServer((req, res) => {
  const listener = routes[req.url ?? '']
  if (listener) return void listener(req, res)
  res.writeHead(404).end()
})
server.keepAliveTimeout = 120_000
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port, payer })
})
process.on('disconnect', () => process.exit(0))

let session: Session | undefined
process.on('message', async (message: { profile?: 'start' | 'stop'; path?: string }) => {
  if (message.profile === 'start') {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    process.send!({ profiling: true })
  } else if (message.profile === 'stop' && session) {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(message.path!, JSON.stringify(profile))
    session.disconnect()
    process.send!({ profiled: message.path })
  }
})

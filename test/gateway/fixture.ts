/**
 * A gateway on a real loopback `node:http` server in front of a real loopback upstream,
 * paid for with the in-memory ledger method.
 */
import { createPaymentFetch } from '../../src/client/index.js'
import { createGateway, type GatewayConfig } from '../../src/gateway/index.js'
import { gatewayListener } from '../../src/gateway/node.js'
import * as Base64url from '../../src/internal/base64url.js'
import * as Utf8 from '../../src/internal/utf8.js'
import type { PaymentServerConfig } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { listen } from '../support/loopback.js'

export const SECRET = 's'.repeat(32)
export const START = 1_000n

export type Setup = Awaited<ReturnType<typeof startGateway>>

/** Starts a gateway in front of `upstream` (an origin URL); alice pays through `pay`. */
export async function startGateway(
  upstream: string,
  config: Omit<GatewayConfig, 'upstream' | 'server' | 'refundOn'> & { server?: Partial<PaymentServerConfig>; refundOn?: (status: number) => boolean },
) {
  const ledger = createLedger()
  const alice = ledger.open('alice', START)
  ledger.open('shop', 0n)
  const { server: serverOverrides, ...rest } = config
  const gateway = createGateway({
    ...rest,
    upstream,
    server: { realm: 'gateway.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })], ...serverOverrides },
  })
  const front = await listen(gatewayListener(gateway))
  const pay = createPaymentFetch({ methods: [ledger.client(alice)] })
  return { ledger, alice, gateway, url: front.url, pay, close: front.close }
}

/** The decoded `Payment-Refund` header, or undefined. */
export function refundOf(response: Response): { status: string; method: string } | undefined {
  const header = response.headers.get('payment-refund')
  return header === null ? undefined : JSON.parse(Utf8.fromBytes(Base64url.decode(header)))
}

/** A port nothing listens on (it was just closed). */
export async function closedOrigin(): Promise<string> {
  const server = await listen(() => {})
  await server.close()
  return server.url
}

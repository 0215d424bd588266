/**
 * `createGateway`: a paying reverse proxy in front of any HTTP upstream. Each request is
 * matched to a route; a free route is forwarded as it is, a priced one goes through a
 * payment gate first and is forwarded under `Paid.deliver`, so an upstream that fails
 * (unreachable, too slow, 5xx, and by default any non-2xx) refunds the payer.
 *
 * @example
 * const gateway = createGateway({
 *   upstream: 'http://127.0.0.1:8080',
 *   server: { realm: 'api.example.com', secrets: [secret], methods: [tempo] },
 *   routes: [
 *     { path: '/health' },
 *     { method: 'POST', path: '/v1/chat', price: (request) => priceByTokens(request) },
 *     { path: '/v1/*', price: { amount: '1000' } },
 *   ],
 * })
 * createServer(gatewayListener(gateway)).listen(3000)
 */
import { isMppError, MppError } from '../errors.js'
import type * as Method from '../Method.js'
import { createPaymentServer, type Gate, type PaymentServer, type PaymentServerConfig } from '../server/index.js'
import { problem } from '../server/responses.js'
import { compilePath, isAmbiguousPath } from './match.js'
import { gateCache } from './prices.js'
import { readBodyWithin } from './body.js'
import { forward, type UpstreamOptions } from './upstream.js'

/** A route's price: fixed options, or options computed from the request (its body is readable). */
export type Price = Method.RouteOptions | ((request: Request) => Method.RouteOptions | Promise<Method.RouteOptions>)

export type GatewayRoute = {
  /** Methods this route matches (default: any). */
  method?: string | readonly string[]
  /** `/exact`, `/users/:id`, `/v1/*`. */
  path: string
  /** Without a price the route is free and forwarded as it is. */
  price?: Price
  /** Offer only these payment methods (names, or `method/intent`). */
  only?: readonly string[]
}

type Common = {
  /** The upstream's base URL (http or https); the request's path and query are appended to its path. */
  upstream: string | URL
  /** Routes, first match wins. */
  routes: readonly GatewayRoute[]
  /** How long the upstream may take to send its response headers, in ms (default 30 s); then 504 and a refund. */
  timeout?: number
  /** A request no route matches: 404 (default) or forwarded free ('pass'). */
  unmatched?: 'not-found' | 'pass'
  /** Forward `Authorization` values without a Payment credential (default false: never forwarded). */
  forwardAuthorization?: boolean
  /** Extend incoming `Forwarded` / `X-Forwarded-*` fields instead of replacing them (only behind your own proxy). */
  trustForwarded?: boolean
  /** Largest body read to compute a request-dependent price (default 10 MiB); larger gets 413. */
  maxBodyBytes?: number
  /** How long reading a body for a request-dependent price may take (default 30 s); then 408. */
  bodyTimeout?: number
  /** How many gates for computed prices are kept (default 1000). */
  priceCacheSize?: number
  /** The fetch used to reach the upstream (default the global one). */
  fetch?: typeof globalThis.fetch
}

export type GatewayConfig = Common &
  (
    | {
        /** A payment server you built; its `refundOn` and `handlerTimeout` apply. */
        server: PaymentServer
        refundOn?: never
      }
    | {
        /** Configuration for the gateway's own payment server. */
        server: PaymentServerConfig
        /**
         * Which upstream statuses refund the payer (default every non-2xx). The gateway's
         * own 502 (upstream unreachable) and 504 (upstream too slow) always refund.
         */
        refundOn?: (status: number) => boolean
      }
  )

/** What a gateway knows about a request beyond the Web `Request`. */
export type GatewayContext = { clientAddress?: string | undefined }

export type Gateway = (request: Request, context?: GatewayContext) => Promise<Response>

type Compiled = {
  methods: Set<string> | undefined
  matches: (pathname: string) => boolean
  charge: ((request: Request) => Promise<{ gate: Gate; request: Request } | Response>) | undefined
}

const DEFAULT_TIMEOUT = 30_000

export function createGateway(config: GatewayConfig): Gateway {
  const upstream = new URL(config.upstream)
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
    throw new MppError('configuration-invalid', 'the upstream must be an http or https URL')
  if (upstream.username || upstream.password)
    throw new MppError('configuration-invalid', 'the upstream URL must not carry credentials; set headers in a custom fetch instead')
  const timeout = config.timeout ?? DEFAULT_TIMEOUT
  if (!(timeout > 0)) throw new MppError('configuration-invalid', 'timeout must be a positive number of milliseconds')
  const server = isPaymentServer(config.server) ? config.server : ownServer(config.server, config.refundOn, timeout)
  if (isPaymentServer(config.server) && config.refundOn)
    throw new MppError('configuration-invalid', 'refundOn belongs to the payment server when you pass one; set it in its configuration')
  const options: UpstreamOptions = {
    upstream,
    fetch: config.fetch ?? globalThis.fetch,
    timeout,
    forwardAuthorization: config.forwardAuthorization ?? false,
    trustForwarded: config.trustForwarded ?? false,
  }
  const body = { maxBytes: config.maxBodyBytes ?? 10 * 1024 * 1024, timeout: config.bodyTimeout ?? 30_000 }
  const routes = config.routes.map((route) => compile(route, server, body, config.priceCacheSize ?? 1000))

  return async (request, context = {}) => {
    const pathname = new URL(request.url).pathname
    if (isAmbiguousPath(pathname)) return problem(400, undefined, 'the path has an encoded "/", "\\" or dot segment; nothing was forwarded')
    const route = routes.find((candidate) => (!candidate.methods || candidate.methods.has(request.method)) && candidate.matches(pathname))
    if (!route && (config.unmatched ?? 'not-found') === 'not-found') return problem(404, undefined, 'no route matches this request')
    if (!route?.charge) return forward(request, options, context.clientAddress)
    const charged = await route.charge(request)
    if (charged instanceof Response) return charged
    const result = await charged.gate.check(charged.request)
    if (!result.paid) return result.response
    return result.deliver(() => forward(result.request, options, context.clientAddress))
  }
}

function compile(route: GatewayRoute, server: PaymentServer, body: { maxBytes: number; timeout: number }, cacheSize: number): Compiled {
  const methods = route.method === undefined ? undefined : new Set((typeof route.method === 'string' ? [route.method] : route.method).map((m) => m.toUpperCase()))
  const matches = compilePath(route.path)
  const price = route.price
  if (price === undefined) {
    if (route.only) throw new MppError('configuration-invalid', `route ${route.path} names payment methods but has no price`)
    return { methods, matches, charge: undefined }
  }
  // A challenge for one route never pays for another, even at the same price.
  const fixed = { ...(route.only && { only: route.only }), bind: { route: `${methods ? [...methods].join(',') : '*'} ${route.path}` } }
  if (typeof price !== 'function') {
    const gate = server.charge({ ...price, ...fixed })
    return { methods, matches, charge: async (request) => ({ gate, request }) }
  }
  const gates = gateCache(server, fixed, cacheSize)
  return {
    methods,
    matches,
    async charge(request) {
      const read = await readBodyWithin(request, body.maxBytes, body.timeout)
      if (read instanceof Response) return read
      let options: Method.RouteOptions
      try {
        options = await price(read.copy())
      } catch {
        return problem(400, undefined, 'the request could not be priced; nothing was charged')
      }
      let gate: Gate
      try {
        gate = gates.get(options)
      } catch (error) {
        if (!isMppError(error, 'configuration-invalid')) throw error
        return problem(500, undefined, 'the price computed for this request is not valid; nothing was charged')
      }
      return { gate: withDropOnFailure(gate, () => gates.drop(options)), request: read.copy() }
    },
  }
}

/** A gate whose driver refuses its options throws at its first check: forget it so it is not kept. */
function withDropOnFailure(gate: Gate, drop: () => void): Gate {
  return {
    challenges: gate.challenges,
    async check(request) {
      try {
        return await gate.check(request)
      } catch (error) {
        drop()
        throw error
      }
    },
  }
}

function ownServer(config: PaymentServerConfig, refundOn: ((status: number) => boolean) | undefined, timeout: number): PaymentServer {
  const upstreamFails = refundOn ?? config.refundOn ?? ((status: number) => status < 200 || status >= 300)
  return createPaymentServer({
    // The gateway's own timeout answers first, so the upstream request is cancelled with it.
    handlerTimeout: timeout + 1_000,
    ...config,
    refundOn: (status) => status === 502 || status === 504 || upstreamFails(status),
  })
}

function isPaymentServer(server: PaymentServer | PaymentServerConfig): server is PaymentServer {
  return typeof (server as PaymentServer).charge === 'function'
}

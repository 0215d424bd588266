import { afterEach, describe, expect, it } from 'vitest'
import { serve } from '../support/loopback.js'
import { START, startGateway } from './fixture.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()))
})

describe('gateway: streaming', () => {
  it('streams a paid SSE response: the first event arrives while the upstream is still open', async () => {
    let finish!: () => void
    const upstreamDone = new Promise<void>((resolve) => (finish = resolve))
    let upstreamFinished = false
    const upstream = await serve(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode('event: tick\ndata: 1\n\n'))
              await upstreamDone
              controller.enqueue(new TextEncoder().encode('event: tick\ndata: 2\n\n'))
              upstreamFinished = true
              controller.close()
            },
          }),
          { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } },
        ),
    )
    open.push(upstream)
    const setup = await startGateway(upstream.url, { routes: [{ path: '/events', price: { price: '0.05' } }] })
    open.push(setup)

    const response = await setup.pay(`${setup.url}/events`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('payment-receipt')).not.toBeNull()
    const reader = response.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('event: tick\ndata: 1\n\n')
    expect(upstreamFinished).toBe(false)
    finish()
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    expect(rest).toBe('event: tick\ndata: 2\n\n')
    expect(setup.ledger.balance('alice')).toBe(START - 5n)
  })

  // A paid POST carries an Idempotency-Key (the paying fetch adds one); an event stream
  // is not buffered for replays (src/server/idempotency.ts `remember`), so it streams.
  it('streams a paid SSE response to a POST with an Idempotency-Key', async () => {
    let finish!: () => void
    const upstreamDone = new Promise<void>((resolve) => (finish = resolve))
    const upstream = await serve(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode('data: 1\n\n'))
              await upstreamDone
              controller.close()
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    )
    open.push(upstream)
    const setup = await startGateway(upstream.url, { routes: [{ path: '/events', price: { price: '0.05' } }] })
    open.push(setup)
    const pending = setup.pay(`${setup.url}/events`, { method: 'POST', body: '{}' })
    const first = await Promise.race([
      pending.then(async (response) => new TextDecoder().decode((await response.body!.getReader().read()).value)),
      new Promise<'still buffered'>((resolve) => setTimeout(() => resolve('still buffered'), 1_000)),
    ])
    finish()
    await pending
    expect(first).toBe('data: 1\n\n')
  })

  it('streams a free request body to the upstream without waiting for its end', async () => {
    let firstChunkSeen!: (text: string) => void
    const seen = new Promise<string>((resolve) => (firstChunkSeen = resolve))
    const upstream = await serve(async (request) => {
      const reader = request.body!.getReader()
      const { value } = await reader.read()
      firstChunkSeen(new TextDecoder().decode(value))
      let total = value!.length
      for (;;) {
        const next = await reader.read()
        if (next.done) break
        total += next.value.length
      }
      return Response.json({ total })
    })
    open.push(upstream)
    const setup = await startGateway(upstream.url, { routes: [{ path: '/upload' }] })
    open.push(setup)
    let more!: () => void
    const second = new Promise<void>((resolve) => (more = resolve))
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('part one;'))
        await second
        controller.enqueue(new TextEncoder().encode('part two'))
        controller.close()
      },
    })
    const pending = fetch(`${setup.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    expect(await seen).toBe('part one;')
    more()
    const response = await pending
    expect(await response.json()).toEqual({ total: 'part one;part two'.length })
  })
})

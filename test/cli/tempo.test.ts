/**
 * `mppkit pay` with a real Tempo account: the bin (src/cli/main.ts) reads the key from
 * MPPKIT_TEMPO_KEY and the node from --rpc, pays a loopback shop selling for pathUSD on
 * `anvil --network tempo`, and `inspect` shows the price in pathUSD. The key is in no output.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { chargeServer } from '../../src/methods/tempo/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { serve } from '../support/loopback.js'
import { chainForThisFile, TOKENS } from '../tempo/support/chain.js'
import { MERCHANT } from '../tempo/support/shop.js'
import { cli } from './support/spawn.js'

const chain = await chainForThisFile()
const server = createPaymentServer({
  realm: 'api.test',
  secrets: ['cli-tempo-test-secret-0123456789abcdef'],
  methods: [chargeServer({ client: chain.client, currency: TOKENS.pathUSD, recipient: MERCHANT })],
})
const api = await serve(server.route({ price: '0.25', description: 'a forecast' }, () => Response.json({ forecast: 'rain' })))
afterAll(() => api.close())

describe('mppkit with a Tempo account', { timeout: 180_000 }, () => {
  it('inspect shows the price in pathUSD; pay pays it from MPPKIT_TEMPO_KEY and prints the receipt, never the key', async () => {
    const seen = await cli(['inspect', `${api.url}/r`])
    expect(seen.code).toBe(0)
    expect(seen.stdout).toContain('[1] tempo/charge  0.25 pathUSD')
    expect(seen.stdout).toContain(`recipient   ${MERCHANT}`)

    const key = generatePrivateKey()
    const payer = privateKeyToAccount(key)
    await chain.fund(payer.address, 10_000_000n, TOKENS.pathUSD)
    const before = await chain.balance(TOKENS.pathUSD, MERCHANT)
    const result = await cli(['pay', `${api.url}/r`, '--max', '0.25', '--rpc', chain.url], { env: { MPPKIT_TEMPO_KEY: key } })
    expect(result.stderr).toMatch(/mppkit: paid 0\.25 pathUSD; receipt 0x[0-9a-f]{64} \(tempo, /)
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('{"forecast":"rain"}')
    expect(await chain.balance(TOKENS.pathUSD, MERCHANT)).toBe(before + 250_000n)
    expect(result.stdout + result.stderr).not.toContain(key.slice(2, 18))
  })
})

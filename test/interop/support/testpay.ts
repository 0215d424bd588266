/**
 * The custom payment method `testpay/charge`, defined twice: once with mppx's Method
 * API (Method.from / toServer / toClient) and once as an mppkit driver (Method.server /
 * Method.client with zod schemas). Both halves agree on the wire:
 *
 *   request = { amount: string, currency: string, recipient?: string, description?: string }
 *   payload = { proof: string, payer: string }
 *   proof   = base64url(HMAC-SHA256(PROOF_KEY, `${challengeId}|${amount}|${currency}`))
 *
 * Each server half records every settlement, so a test can assert that money moved
 * exactly once.
 */
import { createHmac } from 'node:crypto'
import { Credential as MppxCredential, Errors, Method as MppxMethod, z as zm } from 'mppx'
import { z } from 'zod'
import * as Method from '../../../src/Method.js'

const PROOF_KEY = 'testpay-shared-proof-key'

export function proofFor(challengeId: string, amount: string, currency: string): string {
  return createHmac('sha256', PROOF_KEY).update(`${challengeId}|${amount}|${currency}`).digest('base64url')
}

export type Settlement = { challengeId: string; amount: string; currency: string; payer: string }

// ---------------------------------------------------------------------------------------
// mppx side

export const mppxTestpayCharge = MppxMethod.from({
  name: 'testpay',
  intent: 'charge',
  schema: {
    request: zm.object({
      amount: zm.string(),
      currency: zm.string(),
      recipient: zm.optional(zm.string()),
      description: zm.optional(zm.string()),
    }),
    credential: { payload: zm.object({ proof: zm.string(), payer: zm.string() }) },
  },
})

/**
 * mppx server half. mppx core keeps no single-use state (its ids are a bare HMAC), so
 * the replay check lives here, keyed on the challenge id.
 */
export function mppxTestpayServer(settlements: Settlement[]) {
  const used = new Set<string>()
  return MppxMethod.toServer(mppxTestpayCharge, {
    async verify({ credential, request }) {
      const { id } = credential.challenge
      const { proof, payer } = credential.payload
      if (proof !== proofFor(id, request.amount, request.currency)) throw new Errors.VerificationFailedError({ reason: 'bad proof' })
      if (used.has(id)) throw new Errors.InvalidChallengeError({ id, reason: 'already used' })
      used.add(id)
      settlements.push({ challengeId: id, amount: request.amount, currency: request.currency, payer })
      return { method: 'testpay', reference: `tp_${settlements.length}`, status: 'success', timestamp: new Date().toISOString() }
    },
  })
}

/** mppx client half: `createCredential` returns the whole Authorization value. */
export function mppxTestpayClient(payer = 'did:example:mppx-payer') {
  return MppxMethod.toClient(mppxTestpayCharge, {
    async createCredential({ challenge }) {
      return MppxCredential.serialize({
        challenge,
        payload: { proof: proofFor(challenge.id, challenge.request.amount, challenge.request.currency), payer },
        source: payer,
      })
    },
  })
}

// ---------------------------------------------------------------------------------------
// mppkit side

export const TestpayRequest = z.object({
  amount: z.string().regex(/^(0|[1-9][0-9]*)$/),
  currency: z.string().min(1),
  recipient: z.string().optional(),
  description: z.string().optional(),
})
export type TestpayRequest = z.infer<typeof TestpayRequest>

export const TestpayPayload = z.object({ proof: z.string().min(1), payer: z.string().min(1) })
export type TestpayPayload = z.infer<typeof TestpayPayload>

const definition = { name: 'testpay', intent: 'charge', request: TestpayRequest, payload: TestpayPayload } as const

export function mppkitTestpayServer(settlements: Settlement[], options: { recipient?: string } = {}) {
  return Method.server({
    ...definition,
    buildRequest(route) {
      if (route.amount === undefined) throw new Error('testpay routes need an amount')
      return {
        amount: route.amount.toString(),
        currency: route.currency ?? 'usd',
        ...(options.recipient !== undefined && { recipient: options.recipient }),
      }
    },
    async verify({ challenge, payload, request }) {
      if (payload.proof !== proofFor(challenge.id, request.amount, request.currency))
        throw new Method.VerificationError('bad proof')
      return { payer: payload.payer }
    },
    async settle({ challenge, request, verified }) {
      settlements.push({ challengeId: challenge.id, amount: request.amount, currency: request.currency, payer: verified.payer })
      return { reference: `tp_${settlements.length}` }
    },
  })
}

export function mppkitTestpayClient(payer = 'did:example:mppkit-payer') {
  return Method.client({
    ...definition,
    amountOf: (request) => ({
      amount: BigInt(request.amount),
      currency: request.currency,
      ...(request.recipient !== undefined && { recipient: request.recipient }),
    }),
    async pay({ challenge, request }) {
      return { payload: { proof: proofFor(challenge.id, request.amount, request.currency), payer }, source: payer }
    },
  })
}

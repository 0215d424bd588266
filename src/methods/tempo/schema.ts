/** tempo/charge request and payloads (draft-tempo-charge-00 §4, §5). */
import { z } from 'zod'

export const METHOD = 'tempo'
export const INTENT = 'charge'
/** The chain a request means when it names none (the draft's default). */
export const DEFAULT_CHAIN_ID = 42431
export const DECIMALS = 6

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex')
const baseUnits = z.string().regex(/^(0|[1-9][0-9]*)$/)

export const Split = z.object({ amount: baseUnits, recipient: address, memo: bytes32.optional() })
export type Split = z.infer<typeof Split>

export const Mode = z.enum(['pull', 'push'])
export type Mode = z.infer<typeof Mode>

export const ChargeRequest = z.object({
  amount: baseUnits,
  /** TIP-20 token address. */
  currency: address,
  recipient: address,
  description: z.string().optional(),
  externalId: z.string().optional(),
  methodDetails: z
    .object({
      chainId: z.number().int().positive().optional(),
      feePayer: z.boolean().optional(),
      memo: bytes32.optional(),
      splits: z.array(Split).min(1).optional(),
      supportedModes: z.array(Mode).min(1).optional(),
    })
    .optional(),
})
export type ChargeRequest = z.infer<typeof ChargeRequest>

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/)

export const ChargePayload = z.discriminatedUnion('type', [
  /** Pull: the signed Tempo transaction (0x76; 0x78 from viem-based sponsored clients). */
  z.object({ type: z.literal('transaction'), signature: hex }),
  /** Push: the hash of a transaction the client already broadcast. */
  z.object({ type: z.literal('hash'), hash: bytes32 }),
  /** Zero amount: an EIP-712 signature over the challenge id. */
  z.object({ type: z.literal('proof'), signature: hex }),
])
export type ChargePayload = z.infer<typeof ChargePayload>

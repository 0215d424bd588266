/** stripe/charge request and payload (draft-stripe-charge-00 §5, §6). */
import { z } from 'zod'

export const METHOD = 'stripe'
export const INTENT = 'charge'

export const ChargeRequest = z.object({
  /** Smallest currency unit, as a decimal string. */
  amount: z.string().regex(/^(0|[1-9][0-9]*)$/),
  /** Lowercase ISO 4217. */
  currency: z.string().regex(/^[a-z]{3}$/),
  description: z.string().optional(),
  externalId: z.string().optional(),
  recipient: z.string().optional(),
  methodDetails: z.object({
    /** Stripe Business Network profile id. */
    networkId: z.string().min(1),
    paymentMethodTypes: z.array(z.string().min(1)).min(1),
    metadata: z.record(z.string(), z.string()).optional(),
  }),
})
export type ChargeRequest = z.infer<typeof ChargeRequest>

export const ChargePayload = z.object({
  /** Shared Payment Token id. */
  spt: z.string().regex(/^spt_[A-Za-z0-9_]+$/, 'spt must be a Shared Payment Token id (spt_…)'),
  externalId: z.string().max(255).optional(),
})
export type ChargePayload = z.infer<typeof ChargePayload>

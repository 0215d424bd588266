/**
 * The policy file's shape (JSON or YAML), checked with zod. Amounts are strings in whole
 * units of their currency ("0.25"), never numbers: a number can silently lose digits.
 */
import { z } from 'zod'

const amount = z
  .string({ error: 'amounts are strings in whole units, like "0.50"' })
  .regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a non-negative decimal amount in whole units, like "0.50"')

const currency = z.string().min(1, 'a currency cannot be empty')

const origin = z.string().refine(isOrigin, 'must be an origin: scheme, host and port only, like https://api.example.com')

const rules = z.strictObject({
  origins: z.array(origin).optional(),
  realms: z.array(z.string().min(1)).optional(),
  recipients: z.array(z.string().min(1)).optional(),
  methods: z.array(z.string().regex(/^[a-z]+$/, 'a method name is lowercase letters, like tempo')).optional(),
})

export const PolicyFile = z.strictObject({
  /** Largest single payment per currency. */
  maxAmount: z.record(currency, amount).optional(),
  /** Currencies that may be paid at all. */
  currencies: z.array(currency).optional(),
  budgets: z
    .array(z.strictObject({ currency, limit: amount, period: z.enum(['hour', 'day', 'month']) }))
    .optional(),
  allow: rules.optional(),
  deny: rules.optional(),
  /** Payments at or above these amounts need approval (a terminal prompt or --yes). */
  approveAbove: z.record(currency, amount).optional(),
  /** Decimals of currencies mppkit does not know. */
  decimals: z.record(currency, z.number().int().min(0).max(36)).optional(),
})

export type PolicyFile = z.infer<typeof PolicyFile>

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value.replace(/\/$/, '')
  } catch {
    return false
  }
}

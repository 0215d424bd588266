/**
 * Stripe Connect for stripe/charge, as two separate configurations, each limited to the
 * combinations Stripe accepts (draft-stripe-charge-00 "Stripe Connect Parameter Integrity"):
 *
 * - **direct**: the PaymentIntent is created on the connected account (`Stripe-Account`),
 *   optionally with a platform `application_fee_amount`. No `transfer_data`, no
 *   `on_behalf_of` (docs.stripe.com/connect/direct-charges).
 * - **destination**: the PaymentIntent is created on the platform and transfers to
 *   `transfer_data[destination]`; the platform keeps either an `application_fee_amount` or
 *   the rest of a `transfer_data[amount]`, never both; `on_behalf_of`, when asked for, is the
 *   destination itself (docs.stripe.com/connect/destination-charges).
 *
 * Connect settings come from server configuration only, never from a challenge or a client.
 *
 * @example
 * chargeServer({ …, connect: { type: 'destination', destination: 'acct_123', onBehalfOf: true, applicationFeeAmount: (amount) => amount / 10n } })
 */
import { MppError } from '../../errors.js'

/** An amount in the smallest unit, or a function of the charged amount. */
export type ConnectAmount = bigint | ((amount: bigint) => bigint)

export type DirectCharge = {
  readonly type: 'direct'
  /** The connected account the charge is created on (sent as `Stripe-Account`). */
  readonly account: string
  readonly applicationFeeAmount?: ConnectAmount
}

export type DestinationCharge = {
  readonly type: 'destination'
  /** The connected account that receives the transfer (`transfer_data[destination]`). */
  readonly destination: string
  /** Make the destination the business of record (`on_behalf_of` = destination). */
  readonly onBehalfOf?: boolean
  /** The platform's fee; exclusive with `transferAmount`. */
  readonly applicationFeeAmount?: ConnectAmount
  /** What the destination receives (`transfer_data[amount]`); exclusive with `applicationFeeAmount`. */
  readonly transferAmount?: ConnectAmount
}

export type Connect = DirectCharge | DestinationCharge

/** What a refund of a Connect charge must say, fixed when the charge is made. */
export type ConnectRefund = {
  readonly stripeAccount?: string
  readonly reverseTransfer?: true
  readonly refundApplicationFee?: true
}

const ACCOUNT = /^acct_[A-Za-z0-9]+$/

/** Checks a Connect configuration once, at server creation. */
export function validateConnect(connect: unknown): Connect | undefined {
  if (connect === undefined) return undefined
  const c = connect as Record<string, unknown>
  const account = (value: unknown, name: string) => {
    if (typeof value !== 'string' || !ACCOUNT.test(value))
      throw new MppError('configuration-invalid', `connect.${name} must be a Stripe account id (acct_…)`)
  }
  const known = (names: string[]) => {
    const extra = Object.keys(c).find((k) => !names.includes(k))
    if (extra !== undefined)
      throw new MppError('configuration-invalid', `connect.${extra} is not part of a ${String(c.type)} charge configuration`)
  }
  if (c.type === 'direct') {
    known(['type', 'account', 'applicationFeeAmount'])
    account(c.account, 'account')
    return c as unknown as DirectCharge
  }
  if (c.type === 'destination') {
    known(['type', 'destination', 'onBehalfOf', 'applicationFeeAmount', 'transferAmount'])
    account(c.destination, 'destination')
    if (c.onBehalfOf !== undefined && typeof c.onBehalfOf !== 'boolean')
      throw new MppError('configuration-invalid', 'connect.onBehalfOf is true or false: on_behalf_of is always the destination')
    if (c.applicationFeeAmount !== undefined && c.transferAmount !== undefined)
      throw new MppError('configuration-invalid', 'Stripe takes an application fee or a transfer amount on a destination charge, not both')
    return c as unknown as DestinationCharge
  }
  throw new MppError('configuration-invalid', "connect.type must be 'direct' (Stripe-Account) or 'destination' (transfer_data)")
}

/** A Connect amount for this charge, checked to be an integer in 0…amount. */
function resolve(value: ConnectAmount | undefined, amount: bigint, name: string): number | undefined {
  if (value === undefined) return undefined
  const resolved = typeof value === 'function' ? value(amount) : value
  if (typeof resolved !== 'bigint' || resolved < 0n || resolved > amount)
    throw new MppError('configuration-invalid', `${name} must be an integer between 0 and the charged amount`)
  return Number(resolved)
}

/**
 * The PaymentIntent parameters and request options for one charge. `transferGroup` is the
 * request's own identifier (the draft: derived from an order or request identifier).
 */
export function connectParams(connect: Connect | undefined, amount: bigint, transferGroup: string) {
  if (connect === undefined) return { params: {}, stripeAccount: undefined, refund: {} as ConnectRefund }
  const fee = resolve(connect.applicationFeeAmount, amount, 'applicationFeeAmount')
  const feeParam = fee !== undefined ? { application_fee_amount: fee } : {}
  const refundFee = fee !== undefined ? ({ refundApplicationFee: true } as const) : {}
  if (connect.type === 'direct')
    return { params: feeParam, stripeAccount: connect.account, refund: { stripeAccount: connect.account, ...refundFee } as ConnectRefund }
  const transferAmount = resolve(connect.transferAmount, amount, 'transferAmount')
  return {
    params: {
      ...feeParam,
      ...(connect.onBehalfOf === true && { on_behalf_of: connect.destination }),
      transfer_data: { destination: connect.destination, ...(transferAmount !== undefined && { amount: transferAmount }) },
      transfer_group: transferGroup,
    },
    stripeAccount: undefined,
    refund: { reverseTransfer: true, ...refundFee } as ConnectRefund,
  }
}

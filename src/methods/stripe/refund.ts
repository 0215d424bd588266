/**
 * A Stripe Refund's status as the driver's refund result
 * (docs.stripe.com/api/refunds/object#refund_object-status; docs.stripe.com/refunds#failed-refunds).
 *
 * - `succeeded`: refunded.
 * - `pending`: Stripe accepted the refund and is sending it; it is in progress, not failed
 *   (it fails later only if the payer's card or bank refuses it, and Stripe then returns the
 *   money to the seller's balance and notifies by `charge.refund.updated`).
 * - `requires_action`: the payer must act before the money can go back; not refunded yet.
 * - `failed`, `canceled`: not refunded.
 */
import type Stripe from 'stripe'
import type * as Method from '../../Method.js'

export function refundResult(refund: Pick<Stripe.Refund, 'id' | 'status'>): Method.RefundResult {
  switch (refund.status) {
    case 'succeeded':
    case 'pending':
      return { status: 'refunded', reference: refund.id }
    case 'requires_action':
      return { status: 'failed', reason: `refund ${refund.id} needs action from the payer before it can complete` }
    default:
      return { status: 'failed', reason: `refund ${refund.id} ${refund.status ?? 'has no status'}` }
  }
}

/**
 * Audit events of a paying client. They carry the offer (origin, method, amount,
 * recipient) and outcomes, never a credential, a payload or a key.
 */
import type { Offer } from './Policy.js'

export type ClientEvent =
  | { type: 'challenge-received'; url: string; offers: Offer[]; unusable: number }
  | { type: 'payment-approved'; offer: Offer }
  | { type: 'payment-denied'; offer: Offer; reasons: string[] }
  | { type: 'credential-sent'; offer: Offer }
  | { type: 'receipt-received'; offer: Offer; reference: string; status: number }
  | { type: 'payment-failed'; offer: Offer; reason: string; status?: number }
  | { type: 'payment-refunded'; offer: Offer; refund: string }

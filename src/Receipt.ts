/**
 * The `Payment-Receipt` header (draft-httpauth-payment §5.3): base64url of a JSON
 * object with `status: "success"`, `method`, an RFC 3339 `timestamp` and a
 * method-specific `reference`. Methods may add members; they are kept.
 *
 * @example
 * const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
 * receipt.reference // e.g. a transaction hash or a PaymentIntent id
 */
import { MppError } from './errors.js'
import { decodeObject, encodeObject, type JsonObject } from './internal/json.js'
import * as Rfc3339 from './internal/rfc3339.js'

export type Receipt = {
  readonly status: 'success'
  readonly method: string
  readonly timestamp: string
  readonly reference: string
  readonly [extra: string]: unknown
}

export const MAX_LENGTH = 64 * 1024

/** Parses a `Payment-Receipt` value. */
export function parse(header: string): Receipt {
  if (header.length > MAX_LENGTH) throw new MppError('header-too-large', `receipt exceeds ${MAX_LENGTH} characters`)
  return validate(decodeObject(header.trim()))
}

/** The `Payment-Receipt` value for a receipt; core members first, extras after. */
export function serialize(receipt: Receipt): string {
  const { status, method, timestamp, reference, ...extra } = validate(receipt as unknown as JsonObject)
  return encodeObject({ status, method, timestamp, reference, ...extra })
}

/** Builds a receipt; `timestamp` defaults to now, as RFC 3339. */
export function from(fields: {
  method: string
  reference: string
  timestamp?: string | Date
  [extra: string]: unknown
}): Receipt {
  const { timestamp, ...rest } = fields
  if (timestamp instanceof Date && Number.isNaN(timestamp.getTime())) throw new MppError('receipt-invalid', 'timestamp is an invalid Date')
  const fromDate = timestamp instanceof Date || timestamp === undefined
  const at = fromDate ? Rfc3339.format((timestamp ?? new Date()).getTime()) : timestamp
  // A timestamp formatted here is RFC 3339 by construction: no need to parse it back.
  return validate({ ...rest, status: 'success', timestamp: at }, { trustedTimestamp: fromDate })
}

/** Checks a decoded object has the receipt shape and returns it typed. */
export function validate(value: JsonObject, options: { trustedTimestamp?: boolean } = {}): Receipt {
  if (value.status !== 'success') throw new MppError('receipt-invalid', 'receipt status must be "success"')
  if (typeof value.method !== 'string' || !/^[a-z]+$/.test(value.method))
    throw new MppError('receipt-invalid', 'receipt method must be lowercase ASCII letters')
  if (typeof value.reference !== 'string') throw new MppError('receipt-invalid', 'receipt reference must be a string')
  if (typeof value.timestamp !== 'string' || (!options.trustedTimestamp && Rfc3339.toEpochMs(value.timestamp) === undefined))
    throw new MppError('receipt-invalid', 'receipt timestamp must be an RFC 3339 date-time')
  return value as Receipt
}

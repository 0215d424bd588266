/**
 * The `Accept-Payment` request header (draft-httpauth-payment §9.2): the client's
 * weighted preferences over `method/intent` pairs, and the server-side ranking of
 * challenges by it.
 *
 * @example
 * AcceptPayment.rank(challenges, 'tempo/*, stripe/charge;q=0.5') // tempo first
 */
import { MppError } from './errors.js'

export type Range = {
  /** A payment method, or `*`. */
  readonly method: string
  /** An intent, or `*`. */
  readonly intent: string
  /** Weight in [0, 1]; 0 means "do not use". */
  readonly q: number
}

/**
 * `Accept-Payment` values longer than this are refused before scanning: 4 KiB holds
 * well over a hundred ranges, far more than there are method/intent pairs to rank.
 */
export const MAX_LENGTH = 4 * 1024

const RANGE = /^([a-z]+|\*)\/([A-Za-z0-9-]+|\*)$/
// weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
const WEIGHT = /^[qQ]=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/**
 * Parses an `Accept-Payment` value; throws `accept-payment-invalid` when malformed and
 * `header-too-large` when longer than `maxLength` (default {@link MAX_LENGTH}).
 */
export function parse(header: string, options: { maxLength?: number } = {}): Range[] {
  const maxLength = options.maxLength ?? MAX_LENGTH
  if (header.length > maxLength) throw new MppError('header-too-large', `Accept-Payment value exceeds ${maxLength} characters`)
  const ranges: Range[] = []
  for (const element of header.split(',')) {
    const item = element.trim()
    if (item === '') continue // #rule: empty list elements are allowed and ignored
    const [token, ...params] = item.split(';')
    const match = RANGE.exec(token!.trim())
    if (!match) throw invalid()
    if (params.length > 1) throw invalid()
    let q = 1
    if (params.length === 1) {
      const weight = WEIGHT.exec(params[0]!.trim())
      if (!weight) throw invalid()
      q = Number(weight[1])
    }
    ranges.push({ method: match[1]!, intent: match[2]!, q })
  }
  if (ranges.length === 0) throw invalid()
  return ranges
}

/** Serializes ranges; `q` is omitted when it is 1 and written with up to 3 decimals otherwise. */
export function serialize(ranges: readonly Range[]): string {
  return ranges
    .map((range) => {
      if (!RANGE.test(`${range.method}/${range.intent}`) || !(range.q >= 0 && range.q <= 1)) throw invalid()
      // Three decimals at most; a positive weight never rounds down to 0 ("do not use").
      const q = range.q > 0 ? Math.max(0.001, Math.round(range.q * 1000) / 1000) : 0
      return q === 1 ? `${range.method}/${range.intent}` : `${range.method}/${range.intent};q=${q}`
    })
    .join(', ')
}

/**
 * The weight a set of ranges gives one `method/intent` pair: the weight of the most
 * specific matching range (exact > `method/*` > `*\/intent` > `*\/*`; the first
 * listed among equals), or 0 when none matches.
 */
export function weight(ranges: readonly Range[], method: string, intent: string): number {
  let best: Range | undefined
  let bestSpecificity = -1
  for (const range of ranges) {
    const methodMatch = range.method === method
    const intentMatch = range.intent === intent
    if ((!methodMatch && range.method !== '*') || (!intentMatch && range.intent !== '*')) continue
    const specificity = (methodMatch ? 2 : 0) + (intentMatch ? 1 : 0)
    if (specificity > bestSpecificity) {
      best = range
      bestSpecificity = specificity
    }
  }
  return best?.q ?? 0
}

/**
 * Orders offers (anything with `method` and `intent`) by an `Accept-Payment` header,
 * as servers SHOULD: drop q=0, highest q first, server order among equals. A missing,
 * malformed or oversized header, or one that matches nothing, leaves the server's list as it is,
 * so a 402 never goes out without a challenge.
 */
export function rank<T extends { readonly method: string; readonly intent: string }>(
  offers: readonly T[],
  header: string | null | undefined,
): T[] {
  if (header == null) return [...offers]
  let ranges: Range[]
  try {
    ranges = parse(header)
  } catch {
    return [...offers]
  }
  const weighted = offers
    .map((offer, index) => ({ offer, index, q: weight(ranges, offer.method, offer.intent) }))
    .filter((entry) => entry.q > 0)
  if (weighted.length === 0) return [...offers]
  weighted.sort((a, b) => b.q - a.q || a.index - b.index)
  return weighted.map((entry) => entry.offer)
}

function invalid(): MppError {
  return new MppError('accept-payment-invalid', 'Accept-Payment value is malformed')
}

/**
 * How many decimals and which symbol an amount in a challenge has, for showing it to
 * people: what the method is known to use (Tempo stablecoins: 6 decimals; Stripe: the
 * currency's ISO decimals), else what the request itself says (`decimals`, or
 * `methodDetails.decimals`), else nothing (the amount is shown in base units).
 */
import { decimalsOf } from '../methods/stripe/currencies.js'
import { DECIMALS as TEMPO_DECIMALS } from '../methods/tempo/schema.js'

export type Units = { decimals?: number; symbol?: string }

type Request = Record<string, unknown>

export async function unitsOf(method: string, request: Request): Promise<Units> {
  const currency = typeof request.currency === 'string' ? request.currency : undefined
  if (method === 'tempo') {
    const symbol = currency ? await tempoSymbol(currency) : undefined
    return { decimals: TEMPO_DECIMALS, ...(symbol && { symbol }) }
  }
  if (method === 'stripe' && currency && /^[a-z]{3}$/.test(currency)) return { decimals: decimalsOf(currency), symbol: currency.toUpperCase() }
  const stated = decimalsIn(request) ?? decimalsIn(request.methodDetails)
  return stated === undefined ? {} : { decimals: stated }
}

function decimalsIn(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const decimals = (value as Request).decimals
  return typeof decimals === 'number' && Number.isInteger(decimals) && decimals >= 0 && decimals <= 36 ? decimals : undefined
}

/** The token's name on Tempo networks; viem (an optional peer) is only needed for this table. */
async function tempoSymbol(currency: string): Promise<string | undefined> {
  return Object.entries(await tempoTokens()).find(([, address]) => address.toLowerCase() === currency.toLowerCase())?.[0]
}

/** Tempo's predeployed stablecoins by name (6 decimals), or none when viem is not installed. */
export async function tempoTokens(): Promise<Readonly<Record<string, string>>> {
  try {
    return (await import('../methods/tempo/chain.js')).TOKENS
  } catch {
    return {}
  }
}

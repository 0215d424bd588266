/**
 * Currency names in a policy file or `--max`: as challenges name them (`usd`, a token
 * address), or a Tempo token's name (`pathUSD`). Their decimals come from the file's
 * `decimals` map, else Tempo's tokens (6), else ISO 4217 codes (Stripe's table).
 */
import { decimalsOf } from '../methods/stripe/currencies.js'
import { DECIMALS as TEMPO_DECIMALS } from '../methods/tempo/schema.js'
import { tempoTokens } from './units.js'

export type Currencies = {
  /** The identifier offers carry for this name. */
  id(name: string): string
  /** Decimals of a currency (by name or id), or undefined when nobody says. */
  decimals(name: string): number | undefined
}

export async function currencies(declared: Readonly<Record<string, number>> = {}): Promise<Currencies> {
  const tokens = await tempoTokens()
  const byName = new Map(Object.entries(tokens).map(([name, address]) => [name.toLowerCase(), address]))
  const addresses = new Set(Object.values(tokens).map((a) => a.toLowerCase()))
  const id = (name: string) => byName.get(name.toLowerCase()) ?? name
  return {
    id,
    decimals(name) {
      const stated = declared[name] ?? declared[id(name)]
      if (stated !== undefined) return stated
      if (addresses.has(id(name).toLowerCase())) return TEMPO_DECIMALS
      return /^[a-z]{3}$/.test(name) ? decimalsOf(name) : undefined
    },
  }
}

/** `mppkit pay` options, parsed and checked: the policy and limits it pays under. */
import { join } from 'node:path'
import { COMMON, parse, REQUEST, urlArgument } from './args.js'
import { currencies } from './currencies.js'
import { usageError } from './errors.js'
import type { Io } from './io.js'
import { parseMax, type Max } from './limits.js'
import { loadPolicyFile, type LoadedPolicy } from './policyFile.js'

export const PAY_OPTIONS = {
  ...COMMON,
  ...REQUEST,
  output: { type: 'string', short: 'o' },
  include: { type: 'boolean', short: 'i' },
  policy: { type: 'string' },
  max: { type: 'string' },
  ledger: { type: 'string' },
  rpc: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const

export type PayOptions = ReturnType<typeof parsePayArgs>

export function parsePayArgs(args: readonly string[]) {
  const { values, positionals } = parse('pay', args, PAY_OPTIONS)
  if (values.help) return { help: true as const, values }
  return { help: false as const, values, url: urlArgument('pay', positionals) }
}

export type Limits = LoadedPolicy & { readonly max: Max | undefined; readonly ledgerPath: string }

/** The policy (file, MPPKIT_POLICY, or none) and `--max`; at least one is required. */
export async function limitsOf(values: { policy?: string | undefined; max?: string | undefined; ledger?: string | undefined }, io: Io): Promise<Limits> {
  const max = values.max === undefined ? undefined : parseMax(values.max)
  const path = values.policy ?? io.env.MPPKIT_POLICY
  if (path === undefined && max === undefined)
    throw usageError('no spending limit given; mppkit never pays without one', 'pass --max 0.10 for a one-off, or --policy FILE')
  const loaded = path === undefined ? { policy: {}, approveAbove: undefined, currencies: await currencies() } : await loadPolicyFile(path)
  return { ...loaded, max, ledgerPath: values.ledger ?? join(io.home, '.mppkit', 'spend.json') }
}

/**
 * Reads a policy file (JSON, or YAML by extension) into the client's Policy, with
 * amounts in base units. Every problem is reported with its path in the file, all of
 * them at once, in one line.
 */
import { readFile } from 'node:fs/promises'
import * as Amount from '../Amount.js'
import type * as Policy from '../client/Policy.js'
import { currencies, type Currencies } from './currencies.js'
import { usageError } from './errors.js'
import { PolicyFile } from './policySchema.js'

export type LoadedPolicy = {
  /** The static rules and budgets; approval is the CLI's (see limits.ts). */
  readonly policy: Policy.Policy
  readonly approveAbove: Readonly<Record<string, bigint>> | undefined
  readonly currencies: Currencies
}

export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw usageError(`cannot read the policy file ${path}`, 'check the --policy path')
  }
  return parsePolicy(await decode(path, text), path)
}

async function decode(path: string, text: string): Promise<unknown> {
  if (/\.ya?ml$/i.test(path)) {
    const YAML = await import('yaml')
    const document = YAML.parseDocument(text)
    if (document.errors.length > 0) {
      const first = document.errors[0]!
      const line = first.linePos?.[0]?.line
      throw usageError(`policy file ${path}${line ? ` line ${line}` : ''}: not valid YAML (${first.code})`, 'fix the YAML syntax')
    }
    return document.toJS()
  }
  try {
    return JSON.parse(text)
  } catch {
    throw usageError(`policy file ${path}: not valid JSON`, 'fix the JSON syntax, or name the file .yaml to write YAML')
  }
}

/** Validates a decoded policy file and converts it; `source` names it in errors. */
export async function parsePolicy(input: unknown, source: string): Promise<LoadedPolicy> {
  const parsed = PolicyFile.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${pathText(issue.path) || '(top level)'}: ${issue.message}`)
    throw usageError(`policy file ${source}: ${problems.join('; ')}`, 'correct the fields named; mppkit pay --help shows the format')
  }
  const file = parsed.data
  const units = await currencies(file.decimals)
  const problems: string[] = []
  const base = (path: (string | number)[], currency: string, value: string): bigint => {
    const decimals = units.decimals(currency)
    if (decimals === undefined) {
      problems.push(`${pathText(path)}: the decimals of ${currency} are unknown (add decimals: { ${currency}: N })`)
      return 0n
    }
    try {
      return Amount.toBaseUnits(value, decimals)
    } catch {
      problems.push(`${pathText(path)}: ${value} has more than ${decimals} decimal places for ${currency}`)
      return 0n
    }
  }
  const perCurrency = (name: string, map: Record<string, string> | undefined) =>
    map && Object.fromEntries(Object.entries(map).map(([currency, value]) => [units.id(currency), base([name, currency], currency, value)]))
  const rules = (rules: typeof file.allow) => {
    if (!rules) return undefined
    const lists: Record<string, string[]> = {}
    for (const [name, list] of Object.entries(rules)) if (list) lists[name] = name === 'origins' ? list.map((o) => new URL(o).origin) : list
    return lists as NonNullable<Policy.Policy['allow']>
  }

  const maxAmount = perCurrency('maxAmount', file.maxAmount)
  const approveAbove = perCurrency('approveAbove', file.approveAbove)
  const budgets = file.budgets?.map((budget, index) => ({
    currency: units.id(budget.currency),
    limit: base(['budgets', index, 'limit'], budget.currency, budget.limit),
    period: budget.period,
  }))
  const allow = rules(file.allow)
  const deny = rules(file.deny)
  if (problems.length > 0) throw usageError(`policy file ${source}: ${problems.join('; ')}`, 'correct the fields named')
  const policy: Policy.Policy = {
    ...(maxAmount && { maxAmount }),
    ...(file.currencies && { currencies: file.currencies.map(units.id) }),
    ...(budgets && { budgets }),
    ...(allow && { allow }),
    ...(deny && { deny }),
  }
  return { policy, approveAbove, currencies: units }
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('')
}

/** Policy files: valid ones become the client's Policy in base units; every error names its path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CliError } from '../../src/cli/errors.js'
import { loadPolicyFile, parsePolicy } from '../../src/cli/policyFile.js'

const PATH_USD = '0x20c0000000000000000000000000000000000000'
const dir = mkdtempSync(join(tmpdir(), 'mppkit-policy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function error(input: unknown): Promise<string> {
  const failure = await parsePolicy(input, 'p.json').catch((e: unknown) => e)
  expect(failure).toBeInstanceOf(CliError)
  return (failure as CliError).message
}

describe('policy file', () => {
  it('converts amounts to base units with each currency’s decimals, Tempo token names to addresses, origins normalized', async () => {
    const { policy, approveAbove } = await parsePolicy(
      {
        maxAmount: { usd: '0.50', pathUSD: '1.5', jpy: '100' },
        budgets: [{ currency: 'usd', limit: '5', period: 'day' }, { currency: 'pts', limit: '2.5', period: 'hour' }],
        allow: { origins: ['https://api.example.com/'], methods: ['tempo'] },
        deny: { recipients: ['0xbad'] },
        approveAbove: { usd: '1.00' },
        currencies: ['usd', 'pathUSD'],
        decimals: { pts: 1 },
      },
      'p.json',
    )
    expect(policy.maxAmount).toEqual({ usd: 50n, [PATH_USD]: 1_500_000n, jpy: 100n })
    expect(policy.budgets).toEqual([
      { currency: 'usd', limit: 500n, period: 'day' },
      { currency: 'pts', limit: 25n, period: 'hour' },
    ])
    expect(policy.allow).toEqual({ origins: ['https://api.example.com'], methods: ['tempo'] })
    expect(policy.deny).toEqual({ recipients: ['0xbad'] })
    expect(policy.currencies).toEqual(['usd', PATH_USD])
    expect(approveAbove).toEqual({ usd: 100n })
  })

  it('reports every schema error with its path, in one message', async () => {
    const message = await error({ budgets: [{ currency: 'usd', limit: 5, period: 'week' }], maxAmount: { usd: '-1' }, allow: { origins: ['https://a.test/path'] }, extra: true })
    expect(message).toContain('budgets[0].limit: amounts are strings in whole units, like "0.50"')
    expect(message).toContain('budgets[0].period:')
    expect(message).toContain('maxAmount.usd: must be a non-negative decimal amount')
    expect(message).toContain('allow.origins[0]: must be an origin')
    expect(message).toContain('(top level): Unrecognized key: "extra"')
    expect(message.startsWith('policy file p.json: ')).toBe(true)
  })

  it('refuses amounts it cannot convert exactly, naming the path', async () => {
    expect(await error({ maxAmount: { usd: '0.001' } })).toContain('maxAmount.usd: 0.001 has more than 2 decimal places for usd')
    expect(await error({ budgets: [{ currency: 'points', limit: '1', period: 'day' }] })).toContain(
      'budgets[0].limit: the decimals of points are unknown (add decimals: { points: N })',
    )
  })

  it('rejects a non-object and a negative or fractional decimals entry', async () => {
    expect(await error([])).toContain('(top level):')
    expect(await error({ decimals: { pts: 1.5 } })).toContain('decimals.pts:')
  })

  it('reads YAML by extension and JSON otherwise; syntax errors name the file (and the YAML line)', async () => {
    const yaml = join(dir, 'p.yaml')
    writeFileSync(yaml, 'maxAmount:\n  usd: "0.10"\n')
    expect((await loadPolicyFile(yaml)).policy.maxAmount).toEqual({ usd: 10n })
    const badYaml = join(dir, 'bad.yml')
    writeFileSync(badYaml, 'maxAmount:\n  usd: "0.10\n')
    await expect(loadPolicyFile(badYaml)).rejects.toThrow(/^policy file .*bad\.yml line \d+: not valid YAML/)
    const badJson = join(dir, 'bad.json')
    writeFileSync(badJson, '{ maxAmount: }')
    await expect(loadPolicyFile(badJson)).rejects.toThrow(/bad\.json: not valid JSON/)
    await expect(loadPolicyFile(join(dir, 'missing.json'))).rejects.toThrow('cannot read the policy file')
    const numbers = join(dir, 'numbers.yaml')
    writeFileSync(numbers, 'maxAmount:\n  usd: 0.10\n')
    await expect(loadPolicyFile(numbers)).rejects.toThrow('maxAmount.usd: amounts are strings in whole units, like "0.50"')
  })
})

/**
 * `mppkit pay` as a real process (the test-only ledger entry) against a loopback shop:
 * body on stdout, receipt on stderr, curl-like options, and one exit code per outcome.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// Each case starts one to three node processes; on a busy machine one start takes seconds.
const SLOW = { timeout: 120_000 }
import { droppingShop, openShop, type Shop } from './support/bank.js'
import { cli, LEDGER_ENTRY } from './support/spawn.js'

describe('mppkit pay', SLOW, () => {
  let shop: Shop
  let dir: string
  let env: Record<string, string>
  const pay = (args: string[], stdin?: string) => cli(['pay', ...args], { entry: LEDGER_ENTRY, env: { ...env, HOME: dir }, ...(stdin !== undefined && { stdin }) })
  const paidRequests = () => shop.api.requests.filter((r) => r.authorizations.length > 0)

  beforeEach(async () => {
    shop = await openShop()
    dir = mkdtempSync(join(tmpdir(), 'mppkit-cli-'))
    env = shop.envFor(shop.bank.open('alice', 1_000n))
  })
  afterEach(async () => {
    await shop.api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('pays under --max: the body on stdout, what is paid before paying and the receipt on stderr, exit 0', async () => {
    const result = await pay([`${shop.api.url}/p`, '--max', '0.25'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('{"ok":true}')
    expect(result.stderr).toContain(`mppkit: paying 0.25 usd to shop for ${shop.api.url} (ledger/charge)\n`)
    expect(result.stderr).toMatch(/mppkit: paid 0\.25 usd; receipt ltx_1 \(ledger, \d{4}-\d\d-\d\dT[^)]+\)\n$/)
    expect(shop.bank.balance('alice')).toBe(975n)
    // The credential is a bearer secret: it is in no output.
    const credential = paidRequests()[0]!.authorizations[0]!
    expect(result.stdout + result.stderr).not.toContain(credential.slice('Payment '.length, 'Payment '.length + 40))
  })

  it('refuses above --max: exit 3, the reason in one line, nothing sent or paid', async () => {
    const result = await pay([`${shop.api.url}/p`, '--max', '0.20'])
    expect(result.code).toBe(3)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      'mppkit: payment refused by policy, nothing paid: amount 0.25 usd exceeds --max 0.20 (fix: change the policy file or --max if you mean to pay this)\n',
    )
    expect(paidRequests()).toHaveLength(0)
    expect(shop.bank.balance('alice')).toBe(1_000n)
  })

  it('holds a YAML policy budget across invocations in the --ledger file: two payments of 0.25 in a 0.50 day, the third refused', SLOW, async () => {
    const policy = join(dir, 'policy.yaml')
    writeFileSync(policy, 'maxAmount:\n  usd: "1.00"\nbudgets:\n  - currency: usd\n    limit: "0.50"\n    period: day\n')
    const ledger = join(dir, 'spend.json')
    const args = [`${shop.api.url}/p`, '--policy', policy, '--ledger', ledger, '-q']
    expect((await pay(args)).code).toBe(0)
    expect((await pay(args)).code).toBe(0)
    const third = await pay(args)
    expect(third.code).toBe(3)
    expect(third.stderr).toContain('the daily budget for usd would be exceeded')
    expect(shop.bank.balance('alice')).toBe(950n)
    expect(JSON.parse(readFileSync(ledger, 'utf8'))).toBeTruthy()
  })

  it('keeps budgets in ~/.mppkit/spend.json by default', SLOW, async () => {
    const policy = join(dir, 'policy.json')
    writeFileSync(policy, JSON.stringify({ budgets: [{ currency: 'usd', limit: '0.25', period: 'month' }] }))
    expect((await pay([`${shop.api.url}/p`, '--policy', policy, '-q'])).code).toBe(0)
    expect(readFileSync(join(dir, '.mppkit', 'spend.json'), 'utf8')).toContain('usd:month')
    expect((await pay([`${shop.api.url}/p`, '--policy', policy, '-q'])).code).toBe(3)
  })

  it('asks approval at the threshold: without a terminal it refuses (exit 3) and says to pass --yes; with --yes it pays', SLOW, async () => {
    const policy = join(dir, 'policy.json')
    writeFileSync(policy, JSON.stringify({ approveAbove: { usd: '0.25' } }))
    const refused = await pay([`${shop.api.url}/p`, '--policy', policy])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain('0.25 usd is at or above the approval threshold and no terminal can approve it (pass --yes to approve)')
    expect(refused.stderr).not.toContain('the approver said no')
    expect(paidRequests()).toHaveLength(0)
    const approved = await pay([`${shop.api.url}/p`, '--policy', policy, '--yes'])
    expect(approved.code).toBe(0)
    expect(shop.bank.balance('alice')).toBe(975n)
  })

  it('refuses a denied origin (exit 3)', async () => {
    const policy = join(dir, 'policy.json')
    writeFileSync(policy, JSON.stringify({ deny: { origins: [`${shop.api.url}/`] } }))
    const result = await pay([`${shop.api.url}/p`, '--policy', policy])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('origin is on the deny list')
    expect(paidRequests()).toHaveLength(0)
  })

  it('--dry-run quotes and pays nothing: exit 0 when it would pay, 3 when refused', SLOW, async () => {
    const ok = await pay([`${shop.api.url}/p`, '--max', '0.25', '--dry-run'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toBe(`${shop.api.url}/p asks for payment; nothing was paid (dry run)\n  ledger/charge 0.25 usd to shop: would pay\n`)
    const refused = await pay([`${shop.api.url}/p`, '--max', '0.1', '--dry-run', '--json'])
    expect(refused.code).toBe(3)
    expect(JSON.parse(refused.stdout).offers[0]).toMatchObject({ amount: '25', currency: 'usd', refusedBecause: ['amount 0.25 usd exceeds --max 0.1'] })
    expect(paidRequests()).toHaveLength(0)
    expect(shop.bank.balance('alice')).toBe(1_000n)
  })

  it('a payment the server rejects exits 4 and nothing settles', async () => {
    env = shop.envFor(shop.bank.open('poor', 10n))
    const result = await pay([`${shop.api.url}/p`, '--max', '1'])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/^mppkit: paying .*\nmppkit: server rejected the payment \(payment-insufficient\), nothing settled \(fix: mppkit inspect .*\)\n$/)
    expect(shop.bank.balance('poor')).toBe(10n)
  })

  it('a credential sent without an answer exits 5: the outcome is unknown', async () => {
    const dropping = await droppingShop(shop.bank)
    try {
      const result = await pay([`${dropping.url}/p`, '--max', '1'])
      expect(result.code).toBe(5)
      expect(result.stderr).toMatch(/mppkit: no response after paying 0\.25 usd; the payment may have settled \(challenge [^)]+\) \(fix: check the payment/)
    } finally {
      await dropping.close()
    }
  })

  it('is curl-like: -X, -H, -d @file, -i and -o', SLOW, async () => {
    const data = join(dir, 'body.json')
    writeFileSync(data, '{"q":"rain"}')
    const out = join(dir, 'out.json')
    const result = await pay([`${shop.api.url}/echo`, '--max', '1', '-X', 'PUT', '-H', 'X-Tag: seven', '-d', `@${data}`, '-o', out, '-q'])
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ method: 'PUT', tag: 'seven', body: '{"q":"rain"}' })
    const included = await pay([`${shop.api.url}/echo`, '--max', '1', '-d', '@-', '-i', '-q'], 'from stdin')
    expect(included.code).toBe(0)
    expect(included.stdout).toMatch(/^HTTP 200 OK\r\n/)
    expect(included.stdout).toContain('x-shop: yes\r\n')
    expect(included.stdout).toContain('payment-receipt: ')
    expect(included.stdout.endsWith('\r\n\r\n{"method":"POST","tag":null,"body":"from stdin"}')).toBe(true)
  })

  it('--json puts the receipt on stderr as JSON; the body stays on stdout', async () => {
    const result = await pay([`${shop.api.url}/p`, '--max', '1', '--json'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('{"ok":true}')
    const line = JSON.parse(result.stderr)
    expect(line.paid).toMatchObject({ amount: '25', currency: 'usd', recipient: 'shop', display: '0.25 usd' })
    expect(line.receipt).toMatchObject({ status: 'success', method: 'ledger', reference: 'ltx_1' })
  })

  it('a URL that asks no payment is fetched and exits 0', async () => {
    const result = await pay([`${shop.api.url}/free`, '--max', '1'])
    expect(result).toEqual({ code: 0, stdout: 'free body', stderr: '' })
  })

  it('never pays without a limit: no --policy and no --max is a usage error (exit 2)', async () => {
    const result = await pay([`${shop.api.url}/p`])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('mppkit: no spending limit given; mppkit never pays without one (fix: pass --max 0.10 for a one-off, or --policy FILE)\n')
    expect(shop.api.requests).toHaveLength(0)
  })
})

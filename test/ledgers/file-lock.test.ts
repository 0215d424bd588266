/**
 * The file ledger's own guarantees, beyond the shared contract: the lock file (stale
 * owners recovered, live ones waited for, never past the deadline), the state file
 * (0600, replaced whole, a damaged one left alone and refused) and its arguments.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSpendLedger } from '../../src/client/ledgers/file.js'
import { isMppError } from '../../src/errors.js'

const END = Date.now() + 3_600_000

describe('file spend ledger', () => {
  let dir: string
  let path: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mppkit-file-ledger-'))
    path = join(dir, 'spend.json')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const lockWith = (owner: object | string) => writeFileSync(`${path}.lock`, typeof owner === 'string' ? owner : JSON.stringify(owner), { mode: 0o600 })
  /** A pid that existed and has exited, so nobody holds it now. */
  const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout

  it('writes its state 0600, as decimal strings, and leaves no lock or temporary file', async () => {
    const ledger = fileSpendLedger(path)
    expect(await ledger.reserve('usd:day', 2n ** 64n, 2n ** 65n, END)).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, windows: { 'usd:day': { spent: '18446744073709551616', expiresAt: END } } })
    expect(readdirSync(dir)).toEqual(['spend.json'])
  })

  it('drops windows that have ended when it next writes', async () => {
    let now = Date.now()
    const ledger = fileSpendLedger(path, { now: () => now })
    await ledger.reserve('old', 5n, 10n, now + 1000)
    now += 1000
    await ledger.reserve('new', 5n, 10n, now + 1000)
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).windows)).toEqual(['new'])
  })

  it('recovers a lock left by a process that died', async () => {
    lockWith({ pid: Number(deadPid()), host: hostname(), token: 'dead', at: Date.now() })
    const ledger = fileSpendLedger(path, { deadlineMs: 5_000 })
    expect(await ledger.reserve('k', 1n, 10n, END)).toBe(true)
    expect(readdirSync(dir)).toEqual(['spend.json'])
  })

  it('waits for a live owner and fails with store-failure at the deadline, writing nothing then or later', async () => {
    lockWith({ pid: process.pid, host: hostname(), token: 'someone-else', at: Date.now() })
    const ledger = fileSpendLedger(path, { deadlineMs: 150 })
    const started = performance.now()
    const error = await ledger.reserve('k', 1n, 10n, END).catch((e: unknown) => e)
    const elapsed = performance.now() - started
    expect(isMppError(error, 'store-failure')).toBe(true)
    expect((error as Error).message).toBe('spend ledger reserve did not finish within 150 ms')
    expect(elapsed).toBeLessThan(1_000)
    // The owner lets go; the abandoned call must not land afterwards.
    rmSync(`${path}.lock`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await fileSpendLedger(path).spent('k')).toBe(0n)
    expect(readdirSync(dir)).toEqual([])
  })

  it('does not break a fresh lock held from another host, but does break an old one', async () => {
    lockWith({ pid: 1, host: 'another-host.invalid', token: 'remote', at: Date.now() })
    const short = fileSpendLedger(path, { deadlineMs: 150, staleMs: 10_000 })
    expect(isMppError(await short.reserve('k', 1n, 10n, END).catch((e: unknown) => e), 'store-failure')).toBe(true)
    lockWith({ pid: 1, host: 'another-host.invalid', token: 'remote', at: Date.now() - 20_000 })
    expect(await fileSpendLedger(path, { staleMs: 10_000 }).reserve('k', 1n, 10n, END)).toBe(true)
  })

  it('treats an unreadable lock as held until it is older than staleMs', async () => {
    lockWith('')
    const short = fileSpendLedger(path, { deadlineMs: 150, staleMs: 10_000 })
    expect(isMppError(await short.reserve('k', 1n, 10n, END).catch((e: unknown) => e), 'store-failure')).toBe(true)
    const old = (Date.now() - 20_000) / 1000
    utimesSync(`${path}.lock`, old, old)
    expect(await fileSpendLedger(path, { staleMs: 10_000 }).reserve('k', 1n, 10n, END)).toBe(true)
  })

  it('refuses a damaged file with store-failure and leaves it as it was', async () => {
    for (const damaged of ['{', '[]', '{"version":2,"windows":{}}', '{"version":1,"windows":{"k":{"spent":"-1","expiresAt":1}}}', '{"version":1,"windows":{"k":{"spent":"1e3","expiresAt":1}}}']) {
      writeFileSync(path, damaged)
      const ledger = fileSpendLedger(path)
      for (const call of [() => ledger.reserve('k', 1n, 10n, END), () => ledger.release('k', 1n), () => ledger.spent('k')]) {
        const error = await call().catch((e: unknown) => e)
        expect(isMppError(error, 'store-failure'), damaged).toBe(true)
      }
      expect(readFileSync(path, 'utf8')).toBe(damaged)
    }
  })

  it('refuses negative amounts and bad keys with configuration-invalid, touching nothing', async () => {
    const ledger = fileSpendLedger(path)
    const calls = [() => ledger.reserve('k', -1n, 10n, END), () => ledger.release('k', -1n), () => ledger.reserve('', 1n, 10n, END), () => ledger.reserve('k', 1n, 10n, 1.5)]
    for (const call of calls) expect(isMppError(await call().catch((e: unknown) => e), 'configuration-invalid')).toBe(true)
    expect(readdirSync(dir)).toEqual([])
  })
})

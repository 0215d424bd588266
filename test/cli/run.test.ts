/** The command as a whole, in process with a fake Io: help on every verb, one-line errors, no secrets. */
import { describe, expect, it } from 'vitest'
import type { Io } from '../../src/cli/io.js'
import { run } from '../../src/cli/run.js'
import { safeText } from '../../src/cli/safeText.js'
import { tempoMethods } from '../../src/cli/tempo.js'
import { ExitCode } from '../../src/cli/exitCodes.js'
import { cli } from './support/spawn.js'

const KEY = `0x${'ab'.repeat(32)}`

function fakeIo(env: Record<string, string> = {}): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (chunk: string | Uint8Array) => void (io.out += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)),
    stderr: (text: string) => void (io.err += text),
    stdin: async () => new Uint8Array(),
    env,
    now: () => Date.UTC(2026, 0, 1),
    fetch: (async () => {
      throw new TypeError(`fetch failed: socket hang up Authorization: Payment ${'A'.repeat(40)}`)
    }) as typeof fetch,
    home: '/nonexistent',
    confirm: undefined,
  }
  return io
}

const noMethods = { methods: async () => [] }

describe('mppkit', () => {
  it('--help on every verb prints its usage and exits 0', async () => {
    for (const [verb, marker] of [
      ['inspect', 'usage: mppkit inspect <url>'],
      ['pay', 'usage: mppkit pay <url>'],
    ] as const) {
      for (const flag of ['--help', '-h']) {
        const io = fakeIo()
        expect(await run([verb, flag], io, noMethods)).toBe(ExitCode.ok)
        expect(io.out).toContain(marker)
        expect(io.out).toContain('exit codes:')
      }
    }
    const io = fakeIo()
    expect(await run(['--help'], io, noMethods)).toBe(0)
    expect(io.out).toContain('conformance')
    expect(io.out).toContain('5  outcome unknown')
  })

  it('no command prints the usage and exits 2; an unknown one is one line with the fix', async () => {
    expect(await run([], fakeIo(), noMethods)).toBe(ExitCode.usage)
    const io = fakeIo()
    expect(await run(['pya', 'x'], io, noMethods)).toBe(ExitCode.usage)
    expect(io.err).toBe('mppkit: unknown command "pya" (fix: mppkit --help lists the commands)\n')
  })

  it('a network error before paying exits 1 without quoting a credential-like value', async () => {
    const io = fakeIo()
    expect(await run(['pay', 'https://a.test/x', '--max', '1'], io, { methods: async () => [{} as never] })).toBe(ExitCode.error)
    expect(io.err).toMatch(/^mppkit: request to https:\/\/a\.test failed: .*\(fix: check the URL and your network\)\n$/)
    expect(io.err).not.toContain('AAAAAAAAAAAAAAAAAAAAAAAA')
  })

  it('with --json an error is one JSON line on stderr', async () => {
    const io = fakeIo()
    expect(await run(['pay', 'https://a.test/x', '--json'], io, noMethods)).toBe(ExitCode.usage)
    expect(JSON.parse(io.err)).toEqual({
      error: { message: 'no spending limit given; mppkit never pays without one', fix: 'pass --max 0.10 for a one-off, or --policy FILE', exitCode: 2 },
    })
    expect(io.err.trim().split('\n')).toHaveLength(1)
  })

  it('safeText cuts long hex and base64 runs and keeps one line', () => {
    expect(safeText(new Error(`bad tx 0x${'f'.repeat(64)} sig ${'Q'.repeat(30)}\nmore`))).toBe('bad tx 0x… sig …')
    expect(safeText({ shortMessage: 'insufficient funds', message: `long ${'0x'}${'1'.repeat(80)}` })).toBe('insufficient funds')
  })
})

describe('the Tempo account', () => {
  it('is required, must look like a key, needs an RPC; the key never appears in an error', async () => {
    await expect(tempoMethods({ env: {}, rpc: undefined })).rejects.toThrow('MPPKIT_TEMPO_KEY is not set')
    const notKey = `0x${'zz'.repeat(32)}`
    const bad = await tempoMethods({ env: { MPPKIT_TEMPO_KEY: notKey }, rpc: 'http://127.0.0.1:9' }).catch((e: Error) => e)
    expect((bad as Error).message).toBe('MPPKIT_TEMPO_KEY is not a private key')
    await expect(tempoMethods({ env: { MPPKIT_TEMPO_KEY: KEY }, rpc: undefined })).rejects.toThrow('no Tempo RPC endpoint')
    const down = await tempoMethods({ env: { MPPKIT_TEMPO_KEY: KEY }, rpc: 'http://127.0.0.1:9' }).catch((e: Error) => e)
    expect((down as Error).message).toBe('the Tempo RPC endpoint at 127.0.0.1:9 did not answer')
    expect(JSON.stringify({ ...(down as object), message: (down as Error).message })).not.toContain('ab'.repeat(8))
  })

  it('the bin reads it from the environment and prints no part of it', { timeout: 120_000 }, async () => {
    const result = await cli(['pay', 'http://127.0.0.1:9/x', '--max', '1', '--rpc', 'http://127.0.0.1:9'], { env: { MPPKIT_TEMPO_KEY: KEY } })
    expect(result.code).toBe(ExitCode.error)
    expect(result.stderr).toBe('mppkit: the Tempo RPC endpoint at 127.0.0.1:9 did not answer (fix: check --rpc and that the node is running)\n')
    expect(result.stdout + result.stderr).not.toContain('abab')
  })
})

describe('mppkit conformance', () => {
  it('delegates to mppkit-conformance, exit codes included', { timeout: 120_000 }, async () => {
    const help = await cli(['conformance', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: mppkit-conformance [dir]')
    const bad = await cli(['conformance', '--nope'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unknown option --nope')
  })
})

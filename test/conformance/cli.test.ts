/**
 * The `mppkit-conformance` command as a user first meets it: no arguments, `--help`,
 * a mistyped argument. Run as a child process from a directory that has no
 * spec-vectors/, so the default cannot lean on the working directory.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const TSX = createRequire(import.meta.url).resolve('tsx')
const elsewhere = mkdtempSync(join(tmpdir(), 'mppkit-cli-'))
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }))

type Run = { code: number; stdout: string; stderr: string }
const cli = (args: string[]): Promise<Run> =>
  promisify(execFile)(process.execPath, ['--import', TSX, join(ROOT, 'src/conformance/cli.ts'), ...args], { cwd: elsewhere }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Run) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  )
// A stack trace line, as Node prints an uncaught error.
const STACK = /^\s+at .+[(:]\d+/m

describe('mppkit-conformance without arguments or with --help', () => {
  it('no arguments: runs the spec-vectors/ shipped with the package, wherever it is run from', async () => {
    const { code, stdout, stderr } = await cli([])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const shipped = readdirSync(join(ROOT, 'spec-vectors')).filter((name) => name.endsWith('.json'))
    for (const name of shipped) expect(stdout).toContain(`ok   ${name}`)
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^[1-9]\d* passed, 0 failed$/)
  })

  it('--help and -h print the usage and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await cli([flag])
      expect(code).toBe(0)
      expect(stdout).toMatch(/^usage: mppkit-conformance \[dir\]/)
      expect(stdout).toContain('--server URL')
    }
  })

  it('a directory that does not exist, an unknown option or two directories: usage, exit 2, no stack trace', async () => {
    for (const args of [['no-such-dir'], ['--bogus'], ['a', 'b'], ['--server', 'not a url']]) {
      const { code, stdout, stderr } = await cli(args)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr).toContain('usage: mppkit-conformance')
      expect(stderr + stdout).not.toMatch(STACK)
    }
  })

  it('a directory without vector files is a usage error, not "0 passed"', async () => {
    const { code, stderr } = await cli([elsewhere])
    expect(code).toBe(2)
    expect(stderr).toContain('no .json vector files')
  })
})

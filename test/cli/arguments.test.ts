/** Argument parsing: every mistake is a usage error (exit 2) in one line with its fix. */
import { describe, expect, it } from 'vitest'
import { parse, urlArgument, COMMON, REQUEST } from '../../src/cli/args.js'
import { CliError, oneLine } from '../../src/cli/errors.js'
import { ExitCode } from '../../src/cli/exitCodes.js'
import { parseMax } from '../../src/cli/limits.js'
import { parsePayArgs } from '../../src/cli/payOptions.js'
import { buildRequest, parseHeader, parseMethod } from '../../src/cli/request.js'

const noStdin = async () => new Uint8Array()

function usage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(ExitCode.usage)
    const line = oneLine(error as CliError)
    expect(line).not.toContain('\n')
    return line
  }
  throw new Error('expected a usage error')
}

describe('arguments', () => {
  it('parses curl-like options, repeatable headers and the URL', () => {
    const { values, url } = parsePayArgs(['https://a.test/x', '-X', 'post', '-H', 'A: 1', '-H', 'B: 2', '-d', 'x', '-i', '-o', 'f', '--max', '0.1', '--dry-run'])
    expect(url).toBe('https://a.test/x')
    expect(values).toMatchObject({ request: 'post', header: ['A: 1', 'B: 2'], data: 'x', include: true, output: 'f', max: '0.1', 'dry-run': true })
  })

  it('an unknown option names the verb help', () => {
    expect(usage(() => parse('pay', ['--bogus'], COMMON))).toBe("mppkit: Unknown option '--bogus' (fix: see mppkit pay --help)")
  })

  it('an option without its value is a usage error', () => {
    expect(usage(() => parse('inspect', ['-H'], { ...COMMON, ...REQUEST }))).toMatch(/^mppkit: Option '-H.*argument missing \(fix: see mppkit inspect --help\)$/)
  })

  it('the URL must be one absolute http(s) URL', () => {
    expect(usage(() => urlArgument('pay', []))).toBe('mppkit: a URL is required (fix: mppkit pay <url>)')
    expect(usage(() => urlArgument('pay', ['/relative']))).toContain('the URL is not absolute')
    expect(usage(() => urlArgument('pay', ['ftp://a.test/']))).toContain('unsupported URL scheme ftp:')
    expect(usage(() => urlArgument('pay', ['https://a.test', 'extra']))).toContain('one URL expected, got 2 arguments')
  })

  it('headers must be "Name: value"; methods tokens; GET carries no data', () => {
    expect(parseHeader('X-Tag:  seven ')).toEqual(['X-Tag', 'seven'])
    expect(usage(() => parseHeader('no colon'))).toContain('a header must look like "Name: value"')
    expect(usage(() => parseHeader('Bad Name: v'))).toContain('a header must look like')
    expect(parseMethod(undefined, false)).toBe('GET')
    expect(parseMethod(undefined, true)).toBe('POST')
    expect(usage(() => parseMethod('GET', true))).toContain('a GET request cannot carry -d data (fix: add -X POST)')
    expect(usage(() => parseMethod('P T', false))).toContain('not an HTTP method')
  })

  it('-d @file reads the file; a missing file is a usage error', async () => {
    await expect(buildRequest({ data: '@/nonexistent/mppkit' }, noStdin)).rejects.toThrow('cannot read the data file /nonexistent/mppkit')
    const init = await buildRequest({ data: 'a=1' }, noStdin)
    expect(init.method).toBe('POST')
    expect(new Headers(init.headers).get('content-type')).toBe('application/x-www-form-urlencoded')
  })

  it('--max takes whole units, with an optional currency', () => {
    expect(parseMax('0.25')).toEqual({ units: '0.25' })
    expect(parseMax('1 usd')).toEqual({ units: '1', currency: 'usd' })
    for (const bad of ['-1', '1e3', '.5', '01', 'ten', '0.25 usd eur']) expect(usage(() => parseMax(bad))).toContain('is not an amount')
  })
})

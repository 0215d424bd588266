/**
 * Argument parsing for every verb, over `node:util` `parseArgs` (strict): an unknown
 * option or a missing value becomes a one-line usage error naming the verb's `--help`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

export type ParsedArgs<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>

/** Options every verb takes. */
export const COMMON = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies Options

/** The curl-like request options `inspect` and `pay` share. */
export const REQUEST = {
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd' },
} as const satisfies Options

export function parse<const O extends Options>(verb: string, args: readonly string[], options: O): ParsedArgs<O> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '')
    throw usageError(message, `see mppkit ${verb} --help`)
  }
}

/** The single URL a verb needs, checked to be absolute http(s). */
export function urlArgument(verb: string, positionals: readonly string[]): string {
  if (positionals.length === 0) throw usageError('a URL is required', `mppkit ${verb} <url>`)
  if (positionals.length > 1) throw usageError(`one URL expected, got ${positionals.length} arguments`, 'quote header values: -H "Name: value"')
  const raw = positionals[0]!
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw usageError('the URL is not absolute', 'give the full URL, e.g. https://api.example.com/path')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`unsupported URL scheme ${url.protocol}`, 'use an http: or https: URL')
  return url.href
}

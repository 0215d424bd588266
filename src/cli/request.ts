/**
 * The request a curl-like command line describes: `-X METHOD`, `-H 'Name: value'`
 * (repeatable), `-d DATA` or `-d @file` (`@-` reads stdin). Data without `-X` means
 * POST, as in curl.
 */
import { readFile } from 'node:fs/promises'
import { usageError } from './errors.js'

export type RequestOptions = { request?: string | undefined; header?: string[] | undefined; data?: string | undefined }

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(':')
  const name = colon > 0 ? line.slice(0, colon).trim() : ''
  if (!TOKEN.test(name)) throw usageError('a header must look like "Name: value"', `-H "Content-Type: application/json"`)
  return [name, line.slice(colon + 1).trim()]
}

export function parseMethod(value: string | undefined, hasData: boolean): string {
  const method = (value ?? (hasData ? 'POST' : 'GET')).toUpperCase()
  if (!TOKEN.test(method)) throw usageError(`not an HTTP method: ${JSON.stringify(value)}`, '-X POST')
  if ((method === 'GET' || method === 'HEAD') && hasData) throw usageError(`a ${method} request cannot carry -d data`, 'add -X POST')
  return method
}

async function readData(data: string, stdin: () => Promise<Uint8Array>): Promise<Uint8Array> {
  if (!data.startsWith('@')) return new TextEncoder().encode(data)
  const path = data.slice(1)
  if (path === '-') return stdin()
  try {
    return new Uint8Array(await readFile(path))
  } catch {
    throw usageError(`cannot read the data file ${path}`, 'check the path after @')
  }
}

export async function buildRequest(options: RequestOptions, stdin: () => Promise<Uint8Array>): Promise<RequestInit> {
  const headers = new Headers()
  for (const line of options.header ?? []) headers.append(...parseHeader(line))
  const method = parseMethod(options.request, options.data !== undefined)
  const init: RequestInit = { method, headers }
  if (options.data !== undefined) {
    init.body = (await readData(options.data, stdin)) as Uint8Array<ArrayBuffer>
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded')
  }
  return init
}

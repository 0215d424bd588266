/**
 * `mppkit-conformance [dir]`: runs every spec-vector file in a directory (default: the
 * `spec-vectors/` shipped in this package) against mppkit, prints pass counts per
 * file, exits 1 on any failure.
 *
 * `mppkit-conformance --server URL [--method GET|POST] [--body STRING]`: runs the
 * black-box server checks (./server.ts) against a live MPP server's paid resource,
 * prints one line per case, exits 1 on any MUST failure. It never pays.
 *
 * `mppkit-conformance --help` prints the usage. Bad usage exits 2 with the usage, never
 * a stack trace.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatServerReport, runServerConformance } from './server.js'
import { runFile, type VectorFile } from './vectors.js'

const USAGE = `usage: mppkit-conformance [dir]
         runs the spec-vector files in dir (default: the spec-vectors/ shipped with mppkit)
       mppkit-conformance --server URL [--method GET|POST] [--body STRING]
         black-box checks of a live MPP server's paid resource (never pays)
       mppkit-conformance --help`

// This file is src/conformance/cli.ts or dist/conformance/cli.js: either way the
// package root is two levels up, and spec-vectors/ ships there.
const SHIPPED_VECTORS = fileURLToPath(new URL('../../spec-vectors/', import.meta.url))

const args = process.argv.slice(2)
if (args.includes('--help') || args.includes('-h')) console.log(USAGE)
else if (args.some((arg) => arg === '--server' || arg.startsWith('--server='))) await serverMode()
else await vectorsMode()

function usageError(message: string): void {
  console.error(`${message}\n${USAGE}`)
  process.exitCode = 2
}

async function vectorsMode(): Promise<void> {
  const flag = args.find((arg) => arg.startsWith('-'))
  if (flag !== undefined) return usageError(`unknown option ${flag}`)
  if (args.length > 1) return usageError('at most one directory')
  const dir = args[0] ?? SHIPPED_VECTORS
  let files: string[]
  try {
    if (!(await stat(dir)).isDirectory()) return usageError(`not a directory: ${dir}`)
    files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  } catch {
    return usageError(`cannot read the directory ${dir}`)
  }
  if (files.length === 0) return usageError(`no .json vector files in ${dir}`)
  let passed = 0
  let failed = 0
  for (const name of files) {
    let results
    try {
      const file = JSON.parse(await readFile(join(dir, name), 'utf8')) as VectorFile
      results = await runFile(file)
    } catch (error) {
      // A file that is not a vector file is reported like a failure, not thrown.
      console.log(`FAIL ${name.padEnd(32)} not a vector file: ${(error as Error).message}`)
      failed++
      continue
    }
    const bad = results.filter((result) => !result.ok)
    passed += results.length - bad.length
    failed += bad.length
    console.log(`${bad.length ? 'FAIL' : 'ok  '} ${name.padEnd(32)} ${results.length - bad.length}/${results.length}`)
    for (const result of bad) console.log(`     ✗ ${result.name} (${result.spec}): ${result.message}`)
  }
  console.log(`\n${passed} passed, ${failed} failed`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
}

async function serverMode(): Promise<void> {
  let values: { server?: string | undefined; method?: string | undefined; body?: string | undefined }
  try {
    ;({ values } = parseArgs({
      args,
      options: { server: { type: 'string' }, method: { type: 'string' }, body: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    return usageError((error as Error).message)
  }
  const method = values.method?.toUpperCase()
  if (!values.server || !URL.canParse(values.server) || (method !== undefined && method !== 'GET' && method !== 'POST'))
    return usageError('--server needs an absolute URL, and --method GET or POST')
  console.log(`MPP server conformance: ${method ?? (values.body === undefined ? 'GET' : 'POST')} ${values.server}\n`)
  const results = await runServerConformance({
    url: values.server,
    ...(method !== undefined && { method }),
    ...(values.body !== undefined && { body: values.body }),
  })
  const report = formatServerReport(results)
  console.log(report.text)
  process.exitCode = report.failed > 0 || report.passed === 0 ? 1 : 0
}

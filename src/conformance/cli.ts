/**
 * `mppkit-conformance [dir]`: runs every spec-vector file in a directory (default
 * `spec-vectors/`) against mppkit, prints pass counts per file, exits 1 on any failure.
 *
 * `mppkit-conformance --server URL [--method GET|POST] [--body STRING]`: runs the
 * black-box server checks (./server.ts) against a live MPP server's paid resource,
 * prints one line per case, exits 1 on any MUST failure. It never pays.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { formatServerReport, runServerConformance } from './server.js'
import { runFile, type VectorFile } from './vectors.js'

const USAGE = 'usage: mppkit-conformance [dir]\n       mppkit-conformance --server URL [--method GET|POST] [--body STRING]'

if (process.argv.slice(2).some((arg) => arg === '--server' || arg.startsWith('--server='))) await serverMode()
else await vectorsMode()

async function vectorsMode(): Promise<void> {
  const dir = process.argv[2] ?? 'spec-vectors'
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  let passed = 0
  let failed = 0
  for (const name of files) {
    const file = JSON.parse(await readFile(join(dir, name), 'utf8')) as VectorFile
    const results = await runFile(file)
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
      options: { server: { type: 'string' }, method: { type: 'string' }, body: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`)
    process.exitCode = 2
    return
  }
  const method = values.method?.toUpperCase()
  if (!values.server || !URL.canParse(values.server) || (method !== undefined && method !== 'GET' && method !== 'POST')) {
    console.error(USAGE)
    process.exitCode = 2
    return
  }
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

/**
 * `mppkit-conformance [dir]`: runs every spec-vector file in a directory (default
 * `spec-vectors/`) against mppkit, prints pass counts per file, exits 1 on any failure.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runFile, type VectorFile } from './vectors.js'

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

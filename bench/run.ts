/**
 * Runs the benchmarks: `npm run bench` runs every bench/*.bench.ts; `npm run bench --
 * codec` runs bench/codec.bench.ts only. Arguments after the name go to the bench
 * (e.g. `npm run bench -- codec --quick`, or an operation-name filter).
 *
 * Each bench file default-exports `async (args: string[]) => void`.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const all = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort()

const args = process.argv.slice(2)
const named = args[0] !== undefined && !args[0].startsWith('--') ? args[0] : undefined
if (named !== undefined && !all.includes(named)) {
  console.error(`no bench named "${named}"; available: ${all.join(', ')}`)
  process.exit(2)
}
const rest = named === undefined ? args : args.slice(1)

for (const name of named === undefined ? all : [named]) {
  console.log(`\n== ${name} ==`)
  const module = (await import(`./${name}.bench.ts`)) as { default: (args: readonly string[]) => Promise<void> }
  await module.default(rest)
}

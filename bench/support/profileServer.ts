/**
 * CPU profile of one server-pipeline operation of one SDK, with only the timed part
 * profiled (inputs are built first, then the profiler runs over the operations alone):
 *
 *   npx tsx bench/support/profileServer.ts verify mppkit 20000 /tmp/verify.cpuprofile
 *   npx tsx bench/profile.ts --summary /tmp/verify.cpuprofile
 *
 * The operation is the first of bench/server.bench.ts's cases whose name contains the
 * first argument.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { CASES, mppkitSide, mppxSide } from '../server.bench.js'

const [name = 'verify', side = 'mppkit', count = '20000', out = `/tmp/${name}-${side}.cpuprofile`] = process.argv.slice(2)
const found = CASES.find((c) => c.name.includes(name))
if (!found) throw new Error(`no case matching "${name}"`)
const contender = found.contenders(side === 'mppx' ? mppxSide() : mppkitSide(), side)
// Warm up the JIT on a first batch, then build the profiled batch.
for (const input of await contender.make(3000)) await contender.op(input)
const inputs = await contender.make(Number(count))
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: 100 })
await session.post('Profiler.start')
const start = performance.now()
for (const input of inputs) await contender.op(input)
const elapsed = performance.now() - start
const { profile } = await session.post('Profiler.stop')
writeFileSync(out, JSON.stringify(profile))
console.log(`${found.name} / ${side}: ${Math.round((inputs.length * 1000) / elapsed).toLocaleString('en-US')} ops/s (profiled); wrote ${out}`)

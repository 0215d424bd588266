/**
 * CPU profile of a server process under the HTTP benchmark's load, covering the loaded
 * window only (credentials are minted first, then the profiler starts in the server
 * process, the load runs, the profiler stops):
 *
 *   npx tsx bench/support/profileHttp.ts mppkit /bench paid 5 /tmp/http-bench.cpuprofile
 *   npx tsx bench/profile.ts --summary /tmp/http-bench.cpuprofile
 *
 * Arguments: SDK (mppkit | mppx), path, `paid` (fresh credentials) or `unpaid`,
 * seconds of load, output file. The server process is the one bench/http.bench.ts forks.
 */
import type { ChildProcess } from 'node:child_process'
import { minters, pool, start, stop, type Lib, type Scenario } from '../http.bench.js'
import { load } from './load.js'

const [lib = 'mppkit', path = '/bench', kind = 'paid', seconds = '5', out = '/tmp/http.cpuprofile'] = process.argv.slice(2) as [Lib?, string?, string?, string?, string?]
const servers = { mppkit: await start('mppkit'), mppx: await start('mppx') }
const target = servers[lib]
const mint = minters(servers)
const credentials = kind !== 'paid' ? undefined : lib === 'mppx' ? mint.mppxBench : path === '/ledger' ? mint.ledger : mint.mppkitBench
const scenario: Scenario = { key: 'profile', lib, label: 'profile', path, status: kind === 'paid' ? 200 : 402, ...(credentials && { credentials }) }
const durationMs = Number(seconds) * 1000

const ask = (child: ChildProcess, message: object, answer: string) =>
  new Promise<void>((resolve) => {
    const on = (reply: Record<string, unknown>) => {
      if (!(answer in reply)) return
      child.off('message', on)
      resolve()
    }
    child.on('message', on)
    child.send(message)
  })

// A short warm-up so the profile shows steady state, not the JIT's first minutes.
await load({ port: target.port, connections: 32, durationMs: 1000, next: await pool(scenario, target.port, 4000) })
const next = await pool(scenario, target.port, Math.ceil(durationMs * 4))
await ask(target.child, { profile: 'start' }, 'profiling')
const result = await load({ port: target.port, connections: 32, durationMs, next })
await ask(target.child, { profile: 'stop', path: out }, 'profiled')
console.log(`${lib} ${path} ${kind}: ${Math.round(result.rps)} rps, statuses ${JSON.stringify(Object.fromEntries(result.statuses))}${result.exhausted ? ' (pool ran out)' : ''}; wrote ${out}`)
await Promise.all([stop(servers.mppkit.child), stop(servers.mppx.child)])

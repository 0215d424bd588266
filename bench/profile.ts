/**
 * Runs one codec operation of one library in a loop, for CPU profiling:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile.ts "verify challenge id" mppkit 5
 *   npx tsx bench/profile.ts --summary /tmp/prof/<file>.cpuprofile
 *
 * The second form prints the functions with the most self time (and inclusive time)
 * from a .cpuprofile, so no GUI is needed.
 */
import { readFileSync } from 'node:fs'
import { cases } from './codec.bench.js'

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] }

function summary(path: string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const label = (node: Node) =>
    `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/work\/main\//, '')}:${node.callFrame.lineNumber + 1}`
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let all = 0
  for (const node of profile.nodes) {
    if (!node.hitCount) continue
    all += node.hitCount
    self.set(label(node), (self.get(label(node)) ?? 0) + node.hitCount)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const name = label(byId.get(id)!)
      if (seen.has(name)) continue
      seen.add(name)
      total.set(name, (total.get(name) ?? 0) + node.hitCount)
    }
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, hits]) => `${((hits / all) * 100).toFixed(1).padStart(5)}%  ${name}`)
  console.log(`samples: ${all}\n\nself time:\n${top(self, 25).join('\n')}\n\ninclusive time:\n${top(total, 30).join('\n')}`)
}

async function loop(operation: string, side: 'mppkit' | 'mppx', seconds: number): Promise<void> {
  const found = (await cases()).find((c) => c.name === operation)
  if (!found) throw new Error(`unknown operation "${operation}"`)
  const fn = found[side]
  const isAsync = fn() instanceof Promise
  const end = performance.now() + seconds * 1000
  let calls = 0
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      if (isAsync) await fn()
      else fn()
    }
    calls += 256
  }
  console.log(`${operation} / ${side}: ${Math.round(calls / seconds).toLocaleString('en-US')} calls/s`)
}

const [first, second, third] = process.argv.slice(2)
if (first === '--summary') summary(second!)
else await loop(first!, (second ?? 'mppkit') as 'mppkit' | 'mppx', Number(third ?? 5))

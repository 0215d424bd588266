/**
 * The cross-process proof's driver: starts N node processes (the fixture
 * `fixtures/spender.ts`, run with `node --import tsx` as test/integration does), each
 * opening its own client of the same ledger; once all are connected it says "go" to
 * every one, and each fires M concurrent reservations against one budget.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const FIXTURE = fileURLToPath(new URL('./fixtures/spender.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT_MS = 30_000
const RUN_TIMEOUT_MS = 60_000

/** What a child needs to open the harness's ledger (read by the fixture). */
export type ChildLedger = { kind: 'file' | 'redis' | 'postgres' | 'redis-racy'; target: string; namespace: string }

export type Storm = { processes: number; payments: number; key: string; amount: bigint; limit: bigint; expiresAt: number }
export type StormOutcome = { granted: number[]; errors: string[]; stormMs: number }

type Running = { process: ChildProcess; lines: AsyncIterator<string>; stderr: () => string }

export async function spendInChildren(ledger: ChildLedger, storm: Storm): Promise<StormOutcome> {
  const children: Running[] = []
  try {
    for (let i = 0; i < storm.processes; i++) children.push(start(ledger, storm))
    await Promise.all(children.map((child) => expectLine(child, 'ready', START_TIMEOUT_MS)))
    const started = performance.now()
    for (const child of children) child.process.stdin!.write('go\n')
    const reports = await Promise.all(children.map((child) => expectLine(child, 'done', RUN_TIMEOUT_MS)))
    const stormMs = performance.now() - started
    return {
      granted: reports.map((r) => r.granted as number),
      errors: reports.flatMap((r) => r.errors as string[]),
      stormMs,
    }
  } finally {
    await Promise.all(children.map(stop))
  }
}

function start(ledger: ChildLedger, storm: Storm): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: {
      ...process.env,
      LEDGER_KIND: ledger.kind,
      LEDGER_TARGET: ledger.target,
      LEDGER_NAMESPACE: ledger.namespace,
      STORM_KEY: storm.key,
      STORM_AMOUNT: storm.amount.toString(),
      STORM_LIMIT: storm.limit.toString(),
      STORM_EXPIRES_AT: String(storm.expiresAt),
      STORM_PAYMENTS: String(storm.payments),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  return { process: child, lines: lines(child), stderr: () => stderr }
}

async function* lines(child: ChildProcess): AsyncGenerator<string> {
  let buffer = ''
  for await (const chunk of child.stdout!) {
    buffer += (chunk as Buffer).toString()
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      yield buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
    }
  }
}

/** The next JSON line from the child, which must be `{"<event>": true, ...}`. */
async function expectLine(child: Running, event: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a spender did not say ${event} within ${timeoutMs} ms:\n${child.stderr()}`)), timeoutMs)
  })
  try {
    const next = await Promise.race([child.lines.next(), timeout])
    if (next.done) throw new Error(`a spender exited before saying ${event}:\n${child.stderr()}`)
    const message = JSON.parse(next.value) as Record<string, unknown>
    if (message[event] !== true) throw new Error(`a spender said ${next.value}, expected ${event}:\n${child.stderr()}`)
    return message
  } finally {
    clearTimeout(timer)
  }
}

async function stop(child: Running): Promise<void> {
  const { process: p } = child
  if (p.exitCode !== null || p.signalCode !== null) return
  const exited = new Promise((resolve) => p.once('exit', resolve))
  p.stdin!.end()
  const timer = setTimeout(() => p.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/**
 * A throwaway Redis for tests: spawns the machine's `redis-server` on a free loopback
 * port with its own data directory, waits until it answers PING, and kills it on
 * `stop()`. It persists with AOF (`appendfsync always`) unless asked for none, as the
 * payment store requires; `crash()` and `restart()` let fault tests kill it and bring
 * it back on the same port and data.
 * Nothing is shared between callers; each gets its own server and an empty keyspace.
 *
 * redis-server ≥ 7.0 is required (redisStore claims with `SET … NX GET`). When it is
 * not installed, `startRedis` throws with the install command: Redis tests fail
 * loudly. Set MPPKIT_SKIP_REDIS=1 to skip them instead (see {@link redisSkip}).
 */
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export type RunningRedis = {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The redis-server process id. */
  readonly pid: number
  /** Kills the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>
  /** SIGKILLs the server (no shutdown save) and waits for it to exit. */
  crash(): Promise<void>
  /** Starts the server again on the same port and data directory (after `crash` or `stop`). */
  restart(): Promise<void>
}

export type RedisOptions = {
  /** `aof` (default): append-only file, fsync on every write. `none`: forgets everything on restart. */
  persistence?: 'aof' | 'none'
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru']`. */
  args?: string[]
}

export const INSTALL_HINT =
  'redis-server (>= 7.0) is needed for the Redis tests and was not found on PATH. Install it: ' +
  '`sudo apt-get update && sudo apt-get install -y redis-server` (Debian/Ubuntu; CI does this), ' +
  '`brew install redis` (macOS), or point MPPKIT_REDIS_SERVER at a redis-server binary. ' +
  'To skip the Redis tests instead, set MPPKIT_SKIP_REDIS=1.'

/**
 * Why Redis tests are skipped, or `undefined` when they run. Use it in the suite name
 * so the reason shows in the report: `describe.skipIf(redisSkip)(`redis${skipNote}`, …)`.
 */
export const redisSkip: string | undefined =
  process.env.MPPKIT_SKIP_REDIS === '1' ? 'skipped: MPPKIT_SKIP_REDIS=1 is set' : undefined
export const skipNote = redisSkip ? ` (${redisSkip})` : ''
if (redisSkip) console.warn(`[mppkit] Redis tests ${redisSkip}; they prove nothing about Redis in this run.`)

const READY_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000
const MIN_VERSION = [7, 0] as const

/** The redis-server binary: MPPKIT_REDIS_SERVER, else the first on PATH (plus /usr/sbin, /usr/bin). */
export function findRedisServer(): string {
  const explicit = process.env.MPPKIT_REDIS_SERVER
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`MPPKIT_REDIS_SERVER=${explicit} is not an executable file. ${INSTALL_HINT}`)
    return explicit
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = join(dir, 'redis-server')
    if (isExecutable(candidate)) return candidate
  }
  throw new Error(INSTALL_HINT)
}

let checkedVersion: string | undefined
function checkVersion(binary: string): void {
  if (checkedVersion === binary) return
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(out.stdout ?? '')
  if (!match) throw new Error(`could not read the version of ${binary} (${(out.stderr || out.stdout || '').trim()}). ${INSTALL_HINT}`)
  const [major, minor] = [Number(match[1]), Number(match[2])]
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]))
    throw new Error(`${binary} is Redis ${match[1]}.${match[2]}.${match[3]}; redisStore needs >= 7.0 (SET NX GET). ${INSTALL_HINT}`)
  checkedVersion = binary
}

/** Starts a private redis-server. Rejects (with how to install it) when there is none. */
export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  const binary = findRedisServer()
  checkVersion(binary)
  const dir = mkdtempSync(join(tmpdir(), 'mppkit-redis-'))
  // redis-server has no `--port 0`: take a free port from the OS, release it, pass it on.
  // Another process may grab it in between; then redis exits at once and we try again.
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    try {
      return await running(binary, port, dir, options)
    } catch (error) {
      lastError = error
      if (!(error instanceof PortTaken)) throw error
    }
  }
  throw new Error('could not start redis-server on a free port after 5 attempts', { cause: lastError })
}

class PortTaken extends Error {}

async function running(binary: string, port: number, dir: string, options: RedisOptions): Promise<RunningRedis> {
  let current = await launch(binary, port, dir, options)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.pid
    },
    stop: async () => {
      await current.stop()
      rmSync(dir, { recursive: true, force: true })
    },
    crash: () => current.stop('SIGKILL'),
    restart: async () => {
      await current.stop()
      current = await launch(binary, port, dir, options)
    },
  }
}

type Launched = { pid: number; stop(signal?: NodeJS.Signals): Promise<void> }

async function launch(binary: string, port: number, dir: string, options: RedisOptions): Promise<Launched> {
  const persistence = options.persistence === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']
  const child = spawn(
    binary,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      ...persistence,
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'warning',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject))
  spawnError.catch(() => {}) // observed below; never an unhandled rejection

  // Kill the server if this process exits without calling stop().
  const onExit = () => child.kill('SIGKILL')
  process.once('exit', onExit)

  let stopped: Promise<void> | undefined
  const stop = (signal: NodeJS.Signals = 'SIGTERM') =>
    (stopped ??= (async () => {
      process.removeListener('exit', onExit)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
    })())

  const deadline = Date.now() + READY_TIMEOUT_MS
  try {
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const state = await Promise.race([
        ping(port).then((ok) => (ok ? 'ready' : 'not-yet')),
        exited.then(() => 'exited' as const),
        spawnError,
      ])
      if (state === 'ready') break
      if (state === 'exited') {
        if (/address already in use/i.test(output)) throw new PortTaken(`port ${port} was taken`)
        throw new Error(`redis-server exited before it was ready:\n${output.trim()}`)
      }
      if (Date.now() >= deadline) throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output.trim()}`)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { pid: child.pid!, stop }
}

/** One inline PING; true on `+PONG`, false when the server is not up yet. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}


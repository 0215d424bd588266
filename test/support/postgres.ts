/**
 * A throwaway PostgreSQL for tests: `initdb` into a temporary directory, `postgres` on a
 * free loopback port (trust authentication, fsync off), waits until it accepts a
 * connection, and removes everything on `stop()`. Each caller gets its own cluster.
 *
 * PostgreSQL refuses to run as root; as root the cluster is owned by and run as the
 * `postgres` user that Debian's package creates. When no server binaries are installed,
 * `startPostgres` throws with the install command: Postgres tests fail loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type RunningPostgres = {
  /** `postgres://mppkit@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** Kills the server (SIGKILL: as a crash would) without removing its data. */
  crash(): Promise<void>
  /** Starts the server again on the same data and port after `crash()`. */
  restart(): Promise<void>
  /** Stops the server and removes its data. Safe to call twice. */
  stop(): Promise<void>
}

export const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, postgres) are needed for the Postgres tests and were not found. Install them: ' +
  '`sudo apt-get install -y postgresql` (Debian/Ubuntu; CI does this), or point MPPKIT_PG_BIN at the directory holding initdb.'

const READY_TIMEOUT_MS = 20_000

/** The directory with `initdb` and `postgres`: MPPKIT_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin. */
export function findPostgresBin(): string {
  const explicit = process.env.MPPKIT_PG_BIN
  if (explicit) {
    if (!existsSync(join(explicit, 'initdb'))) throw new Error(`MPPKIT_PG_BIN=${explicit} has no initdb. ${INSTALL_HINT}`)
    return explicit
  }
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a))
    for (const version of versions) {
      const bin = join(root, version, 'bin')
      if (existsSync(join(bin, 'initdb'))) return bin
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' })
  const found = which.stdout.trim()
  if (which.status === 0 && found) return found.replace(/\/initdb$/, '')
  throw new Error(INSTALL_HINT)
}

/** Starts a private PostgreSQL cluster. Rejects (with how to install it) when there is none. */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = findPostgresBin()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'mppkit-pg-'))
  const data = join(dir, 'data')
  // As root, every server process runs as `postgres` (spawned with its uid, so the
  // pid we hold is the postmaster's own and a SIGKILL reaches it).
  const owner = asRoot ? lookupUser('postgres') : undefined
  if (owner) {
    chownSync(dir, owner.uid, owner.gid)
    chmodSync(dir, 0o700)
  }
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {}

  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'mppkit', '--no-sync', '-E', 'UTF8', '--locale', 'C'], {
    encoding: 'utf8',
    cwd: dir,
    ...as,
  })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed:\n${(init.stderr || init.stdout).trim()}`)
  }

  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async (): Promise<void> => {
    const started = spawn(join(bin, 'postgres'), [
      '-D', data,
      '-p', String(port),
      '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      // fsync off: an OS crash could lose data, a killed server cannot (commits reach the
      // OS before they are acknowledged), which is what the fault tests kill.
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...as })
    child = started
    let output = ''
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000)
    }
    started.stdout!.on('data', collect)
    started.stderr!.on('data', collect)
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
      if (started.exitCode !== null || started.signalCode !== null) {
        // After a crash the old server's backends may still hold the data directory for a moment.
        if (/already exists|shared memory/i.test(output) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200))
          return launch()
        }
        throw new Error(`postgres exited before it was ready:\n${output.trim()}`)
      }
      if (await accepts(port)) break
      if (Date.now() >= deadline) throw new Error(`postgres did not accept connections within ${READY_TIMEOUT_MS} ms:\n${output.trim()}`)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
    // Accepting TCP is not yet accepting queries; a short settle avoids "starting up" errors.
    await waitForQueries(bin, port, deadline, as)
  }
  const kill = async (signal: NodeJS.Signals) => {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const exited = new Promise((resolve) => current.once('exit', resolve))
    current.kill(signal)
    const timer = setTimeout(() => current.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  const onExit = () => {
    child?.kill('SIGKILL')
  }
  process.once('exit', onExit)

  try {
    await launch()
  } catch (error) {
    await kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw error
  }

  let stopped: Promise<void> | undefined
  return {
    url: `postgres://mppkit@127.0.0.1:${port}/postgres`,
    port,
    get pid() {
      return child?.pid ?? 0
    },
    crash: () => kill('SIGKILL'),
    restart: () => launch(),
    stop: () =>
      (stopped ??= (async () => {
        process.removeListener('exit', onExit)
        await kill('SIGINT') // fast shutdown
        rmSync(dir, { recursive: true, force: true })
      })()),
  }
}

function lookupUser(name: string): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`running as root needs the '${name}' user that Debian's postgresql package creates. ${INSTALL_HINT}`)
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

async function waitForQueries(bin: string, port: number, deadline: number, as: { uid?: number; gid?: number }): Promise<void> {
  const isready = join(bin, 'pg_isready')
  if (!existsSync(isready)) return
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const args = ['-h', '127.0.0.1', '-p', String(port), '-U', 'mppkit', '-d', 'postgres', '-q']
    const result = spawnSync(isready, args, as)
    if (result.status === 0) return
    if (Date.now() >= deadline) throw new Error('postgres never became ready for queries')
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.setTimeout(1000, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(false))
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
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

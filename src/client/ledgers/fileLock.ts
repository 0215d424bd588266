/**
 * A lock file shared by the processes of one machine: `<path>.lock`, created with
 * O_CREAT|O_EXCL (only one creator wins), mode 0600, holding its owner's pid, host
 * and a random token.
 *
 * A lock whose owner died is stale: same host and the pid no longer exists, or (on
 * another host, e.g. a network share) older than `staleMs`. Breaking one happens
 * under a second O_EXCL file, `<path>.lock.break`, and only after re-reading the lock
 * under it and finding the very token judged stale, so two processes that both saw
 * the stale lock cannot each delete a fresh lock the other just took.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { MppError } from '../../errors.js'

type Owner = { pid: number; host: string; token: string; at: number }
/** What a lock file says about its holder; `identity` tells one lock file from the next. */
type Holder = { identity: string; owner?: Owner; at: number }

export type FileLockOptions = {
  /** Age after which a lock held from another host counts as abandoned (default 30 s). */
  staleMs?: number
}

/** Holds the lock at `path` for the duration of `work`; gives up when `signal` aborts. */
export async function withFileLock<T>(path: string, signal: AbortSignal, work: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const lock = `${path}.lock`
  const token = await acquire(lock, signal, options.staleMs ?? 30_000)
  try {
    return await work()
  } finally {
    await releaseIfOurs(lock, token)
  }
}

async function acquire(lock: string, signal: AbortSignal, staleMs: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw signal.reason instanceof MppError ? signal.reason : new MppError('store-failure', 'the spend ledger lock was not acquired in time')
    const token = await tryCreate(lock)
    if (token) return token
    const holder = await readHolder(lock)
    if (holder && isStale(holder, staleMs)) {
      await breakStale(lock, holder.identity, staleMs)
      continue
    }
    // Backoff with jitter: up to ~8 ms, so waiters on a busy lock do not march in step.
    await sleep(Math.random() * Math.min(8, 1 + attempt), signal)
  }
}

/** Creates the lock file; its token when this process now holds it, undefined when someone else does. */
async function tryCreate(lock: string): Promise<string | undefined> {
  const owner: Owner = { pid: process.pid, host: hostname(), token: randomBytes(16).toString('hex'), at: Date.now() }
  let handle
  try {
    handle = await open(lock, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw error
  }
  try {
    await handle.writeFile(JSON.stringify(owner))
  } catch (error) {
    await handle.close().catch(() => {})
    await unlink(lock).catch(() => {})
    throw error
  }
  await handle.close()
  return owner.token
}

/**
 * Who holds the lock, or undefined when it is gone. A lock file that does not parse is
 * being written right now, or its creator died between creating and writing it; it is
 * known by its inode and judged by its age.
 */
async function readHolder(lock: string): Promise<Holder | undefined> {
  try {
    const owner = JSON.parse(await readFile(lock, 'utf8')) as Partial<Owner>
    if (typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string' && typeof owner.at === 'number')
      return { identity: owner.token, owner: owner as Owner, at: owner.at }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  }
  try {
    const info = await stat(lock)
    return { identity: `inode:${info.ino}:${info.mtimeMs}`, at: info.mtimeMs }
  } catch {
    return undefined
  }
}

function isStale(holder: Holder, staleMs: number): boolean {
  const { owner } = holder
  if (owner && owner.host === hostname()) return !isAlive(owner.pid)
  return Date.now() - holder.at > staleMs
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' // exists, just not ours to signal
  }
}

async function breakStale(lock: string, staleIdentity: string, staleMs: number): Promise<void> {
  const breaker = `${lock}.break`
  const breakerToken = await tryCreate(breaker)
  if (!breakerToken) {
    // Someone else is breaking it. A breaker left by a process that died mid-break is
    // itself stale; remove it so the next attempt can proceed.
    const holder = await readHolder(breaker)
    if (holder && isStale(holder, staleMs)) await unlink(breaker).catch(() => {})
    return
  }
  try {
    const current = await readHolder(lock)
    if (current?.identity === staleIdentity) await unlink(lock).catch(() => {})
  } finally {
    await releaseIfOurs(breaker, breakerToken)
  }
}

/** Removes the lock only while it still carries our token. */
async function releaseIfOurs(lock: string, token: string): Promise<void> {
  const holder = await readHolder(lock)
  if (holder?.identity === token) await unlink(lock).catch(() => {})
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

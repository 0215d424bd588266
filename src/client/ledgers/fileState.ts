/**
 * The file ledger's on-disk state: one JSON object, amounts as decimal strings.
 *
 *     {"version":1,"windows":{"<key>":{"spent":"1500000","expiresAt":1767225600000}}}
 *
 * Reading is strict: a file that is not exactly this shape fails with `store-failure`
 * and is left untouched (a damaged ledger is never "repaired" to an empty budget).
 * Writing goes to a fresh temporary file (mode 0600) beside it, fsynced, then renamed
 * over it, so a reader sees the old state or the new one, never half of one; the
 * directory is fsynced after the rename, so a crash does not bring the old state back.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MppError } from '../../errors.js'

export type Window = { spent: bigint; expiresAt: number }
export type State = Map<string, Window>

const DECIMAL = /^(0|[1-9][0-9]*)$/

export async function readState(path: string): Promise<State> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw error
  }
  const state: State = new Map()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw damaged()
  }
  if (!isObject(parsed) || parsed.version !== 1 || !isObject(parsed.windows)) throw damaged()
  for (const [key, value] of Object.entries(parsed.windows)) {
    if (!isObject(value) || typeof value.spent !== 'string' || !DECIMAL.test(value.spent) || !Number.isSafeInteger(value.expiresAt))
      throw damaged()
    state.set(key, { spent: BigInt(value.spent), expiresAt: value.expiresAt as number })
  }
  return state
}

/** Writes `state` without the windows that ended by `now`; `signal` aborted = nothing written. */
export async function writeState(path: string, state: State, now: number, signal: AbortSignal): Promise<void> {
  const windows: Record<string, { spent: string; expiresAt: number }> = {}
  for (const [key, window] of state) if (window.expiresAt > now) windows[key] = { spent: window.spent.toString(), expiresAt: window.expiresAt }
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(JSON.stringify({ version: 1, windows }))
    await handle.sync()
  } finally {
    await handle.close()
  }
  if (signal.aborted) {
    await unlink(temporary).catch(() => {})
    throw signal.reason
  }
  try {
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
  await syncDirectory(dirname(path))
}

/**
 * Makes the rename itself durable: without it a crash can bring back the previous
 * state, forgetting a payment. Best effort where a directory cannot be opened (Windows).
 */
async function syncDirectory(directory: string): Promise<void> {
  let handle
  try {
    handle = await open(directory, 'r')
  } catch {
    return
  }
  try {
    await handle.sync().catch(() => {})
  } finally {
    await handle.close()
  }
}

function damaged(): MppError {
  return new MppError('store-failure', 'the spend ledger file is damaged; it was left as it is')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

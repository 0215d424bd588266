/**
 * Child server processes for cross-process tests: runs a TypeScript fixture with tsx,
 * waits for its `{"ready":true,"port":N}` line, and stops or kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export type Child = { name: string; process: ChildProcess; origin: string; output: () => string }

export async function startChild(name: string, fixture: string, env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: ROOT,
    env: { ...process.env, ...env, NAME: name },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin open: the child exits when it closes
  })
  let output = ''
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s:\n${output}`)), 20_000)
    let line = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      line += chunk.toString()
      const match = /\{"ready":true,"port":(\d+)\}/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`))
    })
  })
  return { name, process: child, origin: `http://127.0.0.1:${port}`, output: () => output }
}

export async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return
  const exited = new Promise((resolve) => child.process.once('exit', resolve))
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/** Resolves with the signal once the child has exited. */
export function exited(child: Child): Promise<NodeJS.Signals | null> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return Promise.resolve(child.process.signalCode)
  return new Promise((resolve) => child.process.once('exit', (_code, signal) => resolve(signal)))
}

/**
 * Runs the CLI as a real child process (`node --import tsx <entry> ...args`) without
 * blocking this process's event loop (the loopback servers the CLI talks to live here).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))
export const LEDGER_ENTRY = fileURLToPath(new URL('./ledgerEntry.ts', import.meta.url))

export type Result = { code: number | null; stdout: string; stderr: string }

export function cli(args: readonly string[], options: { entry?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/nonexistent', ...options.env }
    const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? '')
  })
}

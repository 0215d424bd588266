/**
 * Everything a verb touches outside itself, injected so tests and other entries can
 * supply their own: output streams, stdin, environment, clock, fetch and a prompt.
 */
import type * as Method from '../Method.js'

export type Io = {
  readonly stdout: (chunk: string | Uint8Array) => void
  readonly stderr: (text: string) => void
  readonly stdin: () => Promise<Uint8Array>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly now: () => number
  readonly fetch: typeof fetch
  readonly home: string
  /** Asks a yes/no question on the terminal; undefined when there is none (not a TTY). */
  readonly confirm: ((question: string) => Promise<boolean>) | undefined
}

/** Where `pay` gets its payment methods; the real command reads a Tempo key from the environment. */
export type MethodSource = (context: { env: Io['env']; rpc: string | undefined }) => Promise<readonly Method.Client<any, any>[]>

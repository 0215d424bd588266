/** The real process behind {@link Io}: stdio, environment, clock, global fetch, a TTY prompt. */
import { homedir } from 'node:os'
import { createInterface } from 'node:readline/promises'
import type { Io } from './io.js'

export function processIo(): Io {
  return {
    stdout: (chunk) => void process.stdout.write(chunk),
    stderr: (text) => void process.stderr.write(text),
    stdin: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return new Uint8Array(Buffer.concat(chunks))
    },
    env: process.env,
    now: Date.now,
    fetch: globalThis.fetch,
    home: homedir(),
    confirm: process.stdin.isTTY && process.stderr.isTTY ? confirm : undefined,
  }
}

async function confirm(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `)).trim())
  } finally {
    terminal.close()
  }
}

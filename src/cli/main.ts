#!/usr/bin/env node
/**
 * The `mppkit` bin: the real process environment around {@link run}. Payments are made
 * with a Tempo account whose key is in MPPKIT_TEMPO_KEY (see tempo.ts).
 */
import { homedir } from 'node:os'
import { createInterface } from 'node:readline/promises'
import type { Io } from './io.js'
import { run } from './run.js'
import { tempoMethods } from './tempo.js'

const io: Io = {
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
  confirm:
    process.stdin.isTTY && process.stderr.isTTY
      ? async (question) => {
          const terminal = createInterface({ input: process.stdin, output: process.stderr })
          try {
            return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `)).trim())
          } finally {
            terminal.close()
          }
        }
      : undefined,
}

process.exitCode = await run(process.argv.slice(2), io, { methods: tempoMethods })

import { defineConfig } from 'tsup'

/** One entry per public subpath; the keys are the paths under dist/. */
export const entries = {
  index: 'src/index.ts',
  'server/index': 'src/server/index.ts',
  'client/index': 'src/client/index.ts',
  'testing/index': 'src/testing/index.ts',
  'redis/index': 'src/redis/index.ts',
  'postgres/index': 'src/postgres/index.ts',
  'client/file': 'src/client/ledgers/file.ts',
  'conformance/index': 'src/conformance/index.ts',
  'stripe/index': 'src/methods/stripe/index.ts',
  'tempo/index': 'src/methods/tempo/index.ts',
  'tempo/session': 'src/methods/tempo/session/index.ts',
  'gateway/index': 'src/gateway/index.ts',
  'gateway/node': 'src/gateway/node.ts',
  'mcp/index': 'src/mcp/index.ts',
  'adapters/node': 'src/adapters/node.ts',
  'adapters/express': 'src/adapters/express.ts',
  'adapters/hono': 'src/adapters/hono.ts',
  'adapters/fastify': 'src/adapters/fastify.ts',
  'adapters/next': 'src/adapters/next.ts',
}

export default defineConfig([
  {
    entry: entries,
    format: ['esm', 'cjs'],
    dts: true,
    // No source maps: they were 1.0 MB of the 1.7 MB dist. The output is unminified
    // ESM/CJS that reads like the source, and src/ ships in the package for reference.
    sourcemap: false,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    // Optional peers stay imports: only their own subpath loads them.
    external: ['viem', 'stripe', 'ioredis', 'pg', 'express', 'hono', 'fastify', 'zod'],
  },
  {
    // The CLI uses top-level await, which only ESM has.
    entry: { 'conformance/cli': 'src/conformance/cli.ts', 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
])

#!/usr/bin/env node
// Runs before `npm test`: the Redis store tests need Debian's redis-server (>= 7.0).
// As root with apt-get, a missing one is installed; otherwise the command to run is printed.
import { spawnSync } from 'node:child_process'

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
if (process.env.MPPKIT_SKIP_REDIS === '1' || has('redis-server') || process.env.MPPKIT_REDIS_SERVER) process.exit(0)

if (process.getuid?.() === 0 && has('apt-get')) {
  console.log('[mppkit] installing redis-server for the Redis store tests (apt-get)…')
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  if (run(['update', '-qq']) && run(['install', '-y', '-qq', 'redis-server']) && has('redis-server')) process.exit(0)
}
console.error(
  '[mppkit] redis-server is needed for the Redis store tests. Install it (Debian/Ubuntu: ' +
    '`sudo apt-get install -y redis-server`), or set MPPKIT_SKIP_REDIS=1 to skip those tests.',
)
process.exit(1)

#!/usr/bin/env node
// Runs before `npm test`: the store and ledger tests need Debian's redis-server (>= 7.0)
// and PostgreSQL's server binaries. As root with apt-get, missing ones are installed;
// otherwise the command to run is printed.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
const hasPostgres = () =>
  Boolean(process.env.MPPKIT_PG_BIN) ||
  (existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)))

const missing = []
if (process.env.MPPKIT_SKIP_REDIS !== '1' && !process.env.MPPKIT_REDIS_SERVER && !has('redis-server')) missing.push('redis-server')
if (!hasPostgres()) missing.push('postgresql')
if (missing.length === 0) process.exit(0)

if (process.getuid?.() === 0 && has('apt-get')) {
  console.log(`[mppkit] installing ${missing.join(' and ')} for the store tests (apt-get)…`)
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  if (run(['update', '-qq']) && run(['install', '-y', '-qq', ...missing])) process.exit(0)
}
console.error(
  `[mppkit] ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} needed for the store tests. Install ` +
    `(Debian/Ubuntu): \`sudo apt-get install -y ${missing.join(' ')}\`.`,
)
process.exit(1)

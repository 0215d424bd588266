/**
 * Starts a throwaway redis-server for manual runs (the tests start their own):
 *   npx tsx scripts/redis.ts            prints REDIS_URL=redis://127.0.0.1:<port>, Ctrl-C stops it
 *   npx tsx scripts/redis.ts --check    starts one, checks it answers, stops it (CI preflight)
 * Needs redis-server >= 7.0 on PATH (Debian/Ubuntu: apt-get install -y redis-server).
 */
import { startRedis } from '../test/support/redis.js'

let redis
try {
  redis = await startRedis()
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
}
if (process.argv.includes('--check')) {
  console.log(`redis-server ok on ${redis.url}`)
  await redis.stop()
} else {
  console.log(`REDIS_URL=${redis.url}`)
  const stop = () => void redis.stop().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

// The suites StrykerJS runs against each mutant (`npm run mutation`): the Stripe driver's
// tests (and the pipeline's, whose checks the driver relies on). Not part of `npm test`.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/stripe/**/*.test.ts'],
    exclude: ['test/stripe/live.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    retry: 0,
  },
})

/**
 * TEST ONLY: the `mppkit` command with the in-memory ledger method (src/testing) in
 * place of Tempo, so `pay` runs end to end as a real process against a loopback server
 * in the test process. The account (id and HMAC key) comes from MPPKIT_TEST_LEDGER.
 * This entry is not part of the package and not a user option.
 */
import { processIo } from '../../../src/cli/processIo.js'
import { run } from '../../../src/cli/run.js'
import * as Base64url from '../../../src/internal/base64url.js'
import { createLedger } from '../../../src/testing/index.js'

const spec = JSON.parse(process.env.MPPKIT_TEST_LEDGER ?? '{}') as { id: string; key: string; currency: string; decimals: number }
process.exitCode = await run(process.argv.slice(2), processIo(), {
  methods: async () => [createLedger({ currency: spec.currency, decimals: spec.decimals }).client({ id: spec.id, key: Base64url.decode(spec.key) })],
})

/**
 * The `mppkit` bin: {@link run} in the real process. Payments are made with a Tempo
 * account whose key is in MPPKIT_TEMPO_KEY (see tempo.ts).
 */
import { processIo } from './processIo.js'
import { run } from './run.js'
import { tempoMethods } from './tempo.js'

process.exitCode = await run(process.argv.slice(2), processIo(), { methods: tempoMethods })

import { memorySpendLedger } from '../../src/client/SpendLedger.js'
import { describeLedgerContract } from './contract.js'

// In-process only: the cross-process proof and the restart case do not apply.
describeLedgerContract('memory', { durable: false }, async () => ({
  open: ({ now }) => memorySpendLedger({ now }),
  cleanup: async () => {},
}))

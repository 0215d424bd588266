export { createLedger, LedgerPayload, LedgerRequest, type Account, type Ledger, type Transfer } from './ledger.js'

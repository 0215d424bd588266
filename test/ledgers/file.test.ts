import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileSpendLedger } from '../../src/client/ledgers/file.js'
import { describeLedgerContract } from './contract.js'

describeLedgerContract('file', { durable: true }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mppkit-ledger-'))
  const path = join(dir, 'spend.json')
  return {
    open: ({ now, deadlineMs }) => fileSpendLedger(path, { now, ...(deadlineMs && { deadlineMs }) }),
    child: { kind: 'file', target: path, namespace: '-' },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  }
})

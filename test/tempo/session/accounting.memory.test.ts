/** Session accounting on the in-process memory store. */
import { memoryStore } from '../../../src/server/stores/memory.js'
import { describeAccountingContract } from './accountingContract.js'

describeAccountingContract('memory', { store: () => memoryStore() })

/**
 * The outcome table of the fault-injection suites, kept in docs/faults.md. Each suite
 * records one row per fault it injects (what the payer saw, what happened to the
 * money, what the Store says); after the suite the table is compared with its section
 * of the document, so the document says what the tests saw. `UPDATE_FAULTS=1`
 * rewrites the section instead.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

export type Outcome = 'delivered once' | 'refunded' | 'not charged'

export type Row = {
  /** The fault, where it strikes. */
  fault: string
  /** What the payer's first request was answered. */
  firstAnswer: string
  /** What the payer's retry with the same credential was answered (or "-"). */
  retryAnswer: string
  outcome: Outcome
  /** The payment's record in the Store at the end. */
  store: string
}

const DOC = fileURLToPath(new URL('../../docs/faults.md', import.meta.url))

export function outcomeTable(section: string) {
  const rows: Row[] = []
  return {
    add(row: Row) {
      rows.push(row)
    },
    /** Call in afterAll: compares (or, with UPDATE_FAULTS=1, writes) the section. */
    check() {
      const ordered = [...rows].sort((a, b) => a.fault.localeCompare(b.fault))
      const table = [
        '| fault | first answer | retry, same credential | payer | store record |',
        '|---|---|---|---|---|',
        ...ordered.map((r) => `| ${r.fault} | ${r.firstAnswer} | ${r.retryAnswer} | ${r.outcome} | ${r.store} |`),
      ].join('\n')
      const begin = `<!-- table:${section} -->`
      const end = `<!-- /table:${section} -->`
      const doc = readFileSync(DOC, 'utf8')
      const from = doc.indexOf(begin)
      const to = doc.indexOf(end)
      if (from < 0 || to < from) throw new Error(`docs/faults.md has no ${begin} … ${end} section`)
      const current = doc.slice(from + begin.length, to).trim()
      if (process.env.UPDATE_FAULTS === '1') {
        writeFileSync(DOC, `${doc.slice(0, from + begin.length)}\n${table}\n${doc.slice(to)}`)
        return
      }
      expect(current, 'docs/faults.md is out of date: run the fault suites with UPDATE_FAULTS=1').toBe(table)
    },
  }
}

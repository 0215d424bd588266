/**
 * Runs every language-neutral case in spec-vectors/*.json through the conformance runner,
 * one named test per case. An empty vector directory is a failure, not a pass.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runFile, type VectorFile } from '../../src/conformance/vectors.js'

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../spec-vectors')
const names = readdirSync(DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()

type Loaded = { name: string; file?: VectorFile; error?: string }
const loaded: Loaded[] = names.map((name) => {
  try {
    return { name, file: JSON.parse(readFileSync(join(DIR, name), 'utf8')) as VectorFile }
  } catch (error) {
    return { name, error: (error as Error).message }
  }
})
const total = loaded.reduce((n, entry) => n + (entry.file?.cases?.length ?? 0), 0)

describe('spec-vectors', () => {
  it('has at least one vector case', () => {
    expect(total, `no cases in ${DIR}`).toBeGreaterThan(0)
  })

  for (const entry of loaded) {
    describe(entry.name, () => {
      it('is a well-formed vector file', () => {
        expect(entry.error, entry.error).toBeUndefined()
        const file = entry.file!
        expect(typeof file.suite).toBe('string')
        expect(typeof file.operation).toBe('string')
        expect(Array.isArray(file.cases) && file.cases.length > 0).toBe(true)
        for (const vector of file.cases) {
          expect(typeof vector.name, 'case name').toBe('string')
          expect(typeof vector.spec, `spec of "${vector.name}"`).toBe('string')
          expect(vector.input && typeof vector.input === 'object', `input of "${vector.name}"`).toBe(true)
          expect(vector.expect && typeof vector.expect === 'object', `expect of "${vector.name}"`).toBe(true)
        }
      })

      for (const vector of entry.file?.cases ?? []) {
        it(`${vector.name} (${vector.spec})`, async () => {
          const results = await runFile({ ...entry.file!, cases: [vector] })
          expect(results).toHaveLength(1)
          const [result] = results
          expect(result!.ok, result!.message).toBe(true)
        })
      }
    })
  }
})

/**
 * The README's numbers about the black-box runner are the runner's: a test, so that
 * adding a check without updating the README fails here.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runServerConformance } from '../../src/conformance/server.js'
import { serve, type Loopback } from '../support/loopback.js'

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8')
let api: Loopback | undefined
afterAll(() => api?.close())

describe('README: the conformance section', () => {
  it('states how many cases the server runner has, and how many of them need a payment', async () => {
    const stated = /\((\d+) cases; MUSTs fail and SHOULDs warn; the CLI never pays, so\s+the (\d+) that need a payment are skipped\)/.exec(README)
    expect(stated, 'the README sentence about the runner').not.toBeNull()
    // A free resource: the first MUST fails and every other case is reported as skipped,
    // so the result list is the whole list of cases.
    api = await serve(() => Response.json({ free: true }))
    const results = await runServerConformance({ url: `${api.url}/x` })
    const needPayment = results.filter((result) => result.status === 'skip' && /no pay function/.test(result.message))
    expect(Number(stated![1])).toBe(results.length)
    expect(Number(stated![2])).toBe(needPayment.length)
  })

  it('cites the drafts by name, never a path outside the repository (README and spec-vectors/README)', () => {
    expect(README).not.toMatch(/\.\.\/shared|\/work\/|specs\//)
    expect(README).toContain('draft-httpauth-payment-00')
    const vectorsReadme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../spec-vectors/README.md'), 'utf8')
    expect(vectorsReadme).not.toMatch(/\.\.\/shared|\/work\//)
  })
})

/**
 * What ships and what users read never points outside the repository: the drafts are
 * cited by name, never by a path that only exists on the team's machines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PLACES = ['README.md', 'CHANGELOG.md', 'docs', 'spec-vectors', 'src', 'examples', 'contracts', 'scripts', 'test/interop/fixtures']

function files(path: string): string[] {
  const full = join(ROOT, path)
  if (!statSync(full).isDirectory()) return [path]
  return readdirSync(full).flatMap((name) => files(join(path, name)))
}

describe('self-contained', () => {
  it('no shipped or documented file refers to ../shared or another path outside the repository', () => {
    const offenders = PLACES.flatMap(files).filter((path) => /\.\.\/shared|\/work\/shared/.test(readFileSync(join(ROOT, path), 'utf8')))
    expect(offenders).toEqual([])
  })
})

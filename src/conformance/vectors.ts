/** Loading and running spec-vector files (format: spec-vectors/README.md). */
import { isMppError } from '../errors.js'
import { operations } from './operations.js'

export type VectorCase = {
  name: string
  spec: string
  input: Record<string, unknown>
  expect: { error: string } | Record<string, unknown>
}

export type VectorFile = {
  suite: string
  operation: string
  description?: string
  cases: VectorCase[]
}

export type CaseResult = { suite: string; name: string; spec: string; ok: boolean; message?: string }

/** Runs every case of a vector file against mppkit. */
export async function runFile(file: VectorFile): Promise<CaseResult[]> {
  const operation = operations[file.operation]
  if (!operation) throw new Error(`unknown operation "${file.operation}" in suite ${file.suite}`)
  const results: CaseResult[] = []
  for (const vector of file.cases) {
    const base = { suite: file.suite, name: vector.name, spec: vector.spec }
    results.push({ ...base, ...(await runCase(operation, vector)) })
  }
  return results
}

async function runCase(
  operation: (input: Record<string, unknown>) => unknown,
  vector: VectorCase,
): Promise<{ ok: boolean; message?: string }> {
  const wantError = 'error' in vector.expect ? (vector.expect.error as string) : undefined
  let actual: unknown
  try {
    actual = await operation(vector.input)
  } catch (error) {
    if (wantError !== undefined && isMppError(error))
      return error.code === wantError ? { ok: true } : { ok: false, message: `error ${error.code}, expected ${wantError}` }
    const text = isMppError(error) ? `error ${error.code}` : `exception ${(error as Error).message}`
    return { ok: false, message: wantError ? `${text}, expected error ${wantError}` : `${text}, expected success` }
  }
  if (wantError !== undefined) return { ok: false, message: `succeeded, expected error ${wantError}` }
  const difference = diff(normalize(actual), vector.expect, '$')
  return difference ? { ok: false, message: difference } : { ok: true }
}

// Drops undefined members so a value compares as its JSON form does.
function normalize(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

/** The first place two JSON values differ, or `undefined` when they are equal. */
export function diff(actual: unknown, expected: unknown, path: string): string | undefined {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null)
    return Object.is(actual, expected) ? undefined : `${path}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
  if (Array.isArray(expected) !== Array.isArray(actual)) return `${path}: array/object mismatch`
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)])
  for (const key of keys) {
    const inner = diff((actual as any)[key], (expected as any)[key], `${path}.${key}`)
    if (inner) return inner
  }
  return undefined
}

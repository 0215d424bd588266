/** Assertions on mppkit's typed errors, shared by the suites. */
import { expect } from 'vitest'
import { MppError, type ErrorCode } from '../../src/errors.js'

/** What `fn` throws, or `undefined` when it returns. */
export function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

/** Asserts `fn` throws an MppError with this code, and returns it. */
export function expectCode(fn: () => unknown, code: ErrorCode): MppError {
  const error = caught(fn)
  expect(error, `expected MppError ${code}`).toBeInstanceOf(MppError)
  expect((error as MppError).code).toBe(code)
  return error as MppError
}

/** Every message in an error's cause chain, for asserting what an error never says. */
export function messages(error: unknown): string {
  const out: string[] = []
  for (let e = error as { message?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(String(e.message))
  return out.join('\n')
}

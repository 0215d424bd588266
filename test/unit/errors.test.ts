import { describe, expect, it } from 'vitest'
import { MppError, isMppError } from '../../src/errors.js'
import * as Index from '../../src/index.js'

describe('MppError', () => {
  it('carries a stable code, a name and an optional cause', () => {
    const cause = new Error('inner')
    const error = new MppError('credential-invalid', 'bad shape', { cause })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('MppError')
    expect(error.code).toBe('credential-invalid')
    expect(error.message).toBe('bad shape')
    expect(error.cause).toBe(cause)
  })

  it('isMppError checks the class and, optionally, the code', () => {
    const error = new MppError('header-syntax', 'x')
    expect(isMppError(error)).toBe(true)
    expect(isMppError(error, 'header-syntax')).toBe(true)
    expect(isMppError(error, 'header-unsafe')).toBe(false)
    expect(isMppError(new Error('x'))).toBe(false)
    expect(isMppError({ name: 'MppError', code: 'header-syntax' })).toBe(false)
    expect(isMppError(undefined)).toBe(false)
  })

  it('the public entry exposes the namespaces and the error class', () => {
    for (const name of ['AcceptPayment', 'BodyDigest', 'Challenge', 'ChallengeId', 'Credential', 'Json', 'Problem', 'Receipt'])
      expect(typeof (Index as Record<string, unknown>)[name], name).toBe('object')
    expect(Index.MppError).toBe(MppError)
  })
})

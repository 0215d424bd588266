import { accessSync, constants } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { anvilBinary, anvilPackage } from '../../../scripts/anvilBinary.js'

const missing = (specifier: string): string => {
  throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' })
}

describe('anvil binary resolution (scripts/anvilBinary.ts)', () => {
  it('maps each platform and CPU foundry publishes to its package', () => {
    expect(anvilPackage('linux', 'x64')).toBe('@foundry-rs/anvil-linux-amd64')
    expect(anvilPackage('linux', 'arm64')).toBe('@foundry-rs/anvil-linux-arm64')
    expect(anvilPackage('darwin', 'x64')).toBe('@foundry-rs/anvil-darwin-amd64')
    expect(anvilPackage('darwin', 'arm64')).toBe('@foundry-rs/anvil-darwin-arm64')
    expect(anvilPackage('win32', 'x64')).toBe('@foundry-rs/anvil-win32-amd64')
    expect(anvilPackage('win32', 'arm64')).toBeUndefined()
    expect(anvilPackage('freebsd', 'x64')).toBeUndefined()
  })

  it('resolves the package for the given platform, not a fixed one', () => {
    const asked: string[] = []
    const resolve = (specifier: string) => {
      asked.push(specifier)
      return `/deps/${specifier}`
    }
    expect(() => anvilBinary({ platform: 'darwin', arch: 'arm64', resolve })).toThrow(/has no bin\/anvil/)
    expect(asked).toEqual(['@foundry-rs/anvil-darwin-arm64/package.json'])
  })

  it('names the package to install when it is absent', () => {
    expect(() => anvilBinary({ platform: 'darwin', arch: 'arm64', resolve: missing })).toThrow(
      'anvil is missing: install @foundry-rs/anvil-darwin-arm64',
    )
    expect(() => anvilBinary({ platform: 'linux', arch: 'arm64', resolve: missing })).toThrow('install @foundry-rs/anvil-linux-arm64')
  })

  it('says when the platform has no anvil package at all', () => {
    expect(() => anvilBinary({ platform: 'freebsd', arch: 'x64' })).toThrow(/no npm package for freebsd-x64 .*linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64/)
  })

  it('finds an executable for this machine from the installed dev dependencies', () => {
    const binary = anvilBinary()
    expect(binary).toContain(anvilPackage()!)
    accessSync(binary, constants.X_OK)
  })
})

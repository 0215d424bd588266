/**
 * The committed escrow artifact is exactly what scripts/build-escrow.mjs produces from
 * contracts/StreamChannelEscrow.sol with the pinned solc, and what gets deployed.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bytecode, deployedBytecode } from '../../../src/methods/tempo/session/artifact.js'

describe('escrow artifact', () => {
  it('rebuilding with solc 0.8.37 yields the committed artifact byte for byte', () => {
    const run = spawnSync(process.execPath, ['scripts/build-escrow.mjs', '--check'], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain('up to date')
    expect(run.status).toBe(0)
  }, 60_000)

  it('the script pins the compiler version and refuses another', () => {
    const script = readFileSync('scripts/build-escrow.mjs', 'utf8')
    expect(script).toContain("SOLC_VERSION = '0.8.37+commit.f401782d'")
    expect(readFileSync('contracts/StreamChannelEscrow.sol', 'utf8')).toContain('pragma solidity 0.8.37;')
  })

  it('the runtime code is the tail of the creation code (no constructor arguments, no metadata)', () => {
    expect(bytecode.endsWith(deployedBytecode.slice(2))).toBe(true)
  })
})

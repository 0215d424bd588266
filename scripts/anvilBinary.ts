/**
 * Finds the `anvil` executable that the @foundry-rs/anvil npm package installed for
 * this machine. That package lists one optional package per platform (Linux and
 * macOS on x64 and arm64, Windows on x64); npm installs only the one that matches.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The binary packages @foundry-rs/anvil 1.7 publishes, by `process.platform` and `process.arch`. */
export const ANVIL_PACKAGES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  linux: { x64: '@foundry-rs/anvil-linux-amd64', arm64: '@foundry-rs/anvil-linux-arm64' },
  darwin: { x64: '@foundry-rs/anvil-darwin-amd64', arm64: '@foundry-rs/anvil-darwin-arm64' },
  win32: { x64: '@foundry-rs/anvil-win32-amd64' },
}

/** The npm package holding anvil for a platform and CPU, or `undefined` where foundry publishes none. */
export function anvilPackage(platform: string = process.platform, arch: string = process.arch): string | undefined {
  return ANVIL_PACKAGES[platform]?.[arch]
}

/**
 * The path of the anvil executable for this machine. Throws an error naming the
 * package to install when it is absent, or saying that the platform has none.
 */
export function anvilBinary(
  options: { platform?: string; arch?: string; resolve?: (specifier: string) => string } = {},
): string {
  const platform = options.platform ?? process.platform
  const arch = options.arch ?? process.arch
  const name = anvilPackage(platform, arch)
  if (!name) {
    const supported = Object.entries(ANVIL_PACKAGES).flatMap(([os, cpus]) => Object.keys(cpus).map((cpu) => `${os}-${cpu}`))
    throw new Error(`anvil has no npm package for ${platform}-${arch} (published for: ${supported.join(', ')}); install foundry's anvil yourself`)
  }
  const resolve = options.resolve ?? createRequire(import.meta.url).resolve
  let manifest: string
  try {
    manifest = resolve(`${name}/package.json`)
  } catch {
    throw new Error(`anvil is missing: install ${name} (\`npm ci\` installs it with @foundry-rs/anvil on ${platform}-${arch}, unless optional dependencies were omitted)`)
  }
  const binary = join(dirname(manifest), 'bin', platform === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(binary)) throw new Error(`anvil is missing: ${name} is installed but has no bin/${platform === 'win32' ? 'anvil.exe' : 'anvil'}; reinstall it`)
  return binary
}

/**
 * Type-checks the published package the way a consumer sees it: `npm pack` the
 * built package, install the tarball into an empty project without the network, and
 * run `tsc` with `skipLibCheck: false` over files importing every entry point, once as
 * ESM (.mts) and once as CommonJS (.cts). Catches declaration bugs that publint and
 * arethetypeswrong do not (a type re-exported as a value, an unresolved import).
 * Then runs the installed `mppkit-conformance` with no arguments, which must find the
 * spec-vectors shipped in the package and pass.
 *
 * Run after `npm run build`: `tsx scripts/consumerTypes.ts`. Exits non-zero on failure.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, unknown>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}
// Types a consumer of the peers would have installed alongside them.
const TYPE_PACKAGES = ['@types/node', '@types/express']

if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(1)
}

const work = mkdtempSync(join(tmpdir(), 'mppkit-consumer-'))
try {
  const npm = (args: string[], cwd: string) =>
    execFileSync('npm', [...args, '--silent', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd, encoding: 'utf8' }).trim()
  const tarballs = join(work, 'tarballs')
  const app = join(work, 'app')
  mkdirSync(tarballs)
  mkdirSync(app)

  // The package, and its runtime dependencies packed from the installed copies, so
  // the install needs neither the network nor the npm cache.
  const own = npm(['pack', '--pack-destination', tarballs], root).split('\n').pop()!
  const dependencies: Record<string, string> = { [manifest.name]: `file:${join(tarballs, own)}` }
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    const packed = npm(['pack', '--pack-destination', tarballs, installed(name)], root).split('\n').pop()!
    dependencies[name] = `file:${join(tarballs, packed)}`
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2))
  npm(['install', '--offline', '--no-package-lock'], app)

  // Optional peers and their types: linked after the install, so npm never prunes or writes through them.
  for (const name of [...Object.keys(manifest.peerDependencies ?? {}), ...TYPE_PACKAGES]) {
    const link = join(app, 'node_modules', name)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(installed(name), link, 'dir')
  }

  const subpaths = Object.keys(manifest.exports)
    .filter((key) => key !== './package.json')
    .map((key) => manifest.name + key.slice(1))
  writeFileSync(join(app, 'esm.mts'), subpaths.map((path, i) => `import * as entry${i} from '${path}'\nexport { entry${i} }\n`).join(''))
  writeFileSync(join(app, 'cjs.cts'), subpaths.map((path, i) => `import entry${i} = require('${path}')\nexport { entry${i} }\n`).join(''))
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        // DOM: the client's fetch types and viem's WebCrypto/WebAuthn types use it.
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: ['node'],
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  )
  try {
    execFileSync(process.execPath, [join(installed('typescript'), 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    fail(`tsc (skipLibCheck: false) fails in a project that installs the packed tarball:\n${stdout}${stderr}`)
  }
  console.log(`consumer types: ok (${subpaths.length} entry points, ESM and CJS, skipLibCheck false)`)

  // The installed bin with no arguments runs the vectors shipped in the package.
  let conformance: string
  try {
    conformance = execFileSync(process.execPath, [join(app, 'node_modules', manifest.name, 'dist', 'conformance', 'cli.js')], { cwd: app, encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    fail(`the installed mppkit-conformance fails without arguments:\n${stdout}${stderr}`)
  }
  console.log(`consumer conformance bin: ${conformance.trimEnd().split('\n').at(-1)}`)
} catch (error) {
  if (process.exitCode !== 1) throw error
} finally {
  if (!process.env.KEEP_CONSUMER) rmSync(work, { recursive: true, force: true })
  else console.log(`kept ${work}`)
}

/** The directory of a package installed in this checkout. */
function installed(name: string): string {
  const dir = join(root, 'node_modules', name)
  if (!existsSync(join(dir, 'package.json'))) fail(`${name} is not installed in this checkout (npm ci first)`)
  return dir
}

function fail(message: string): never {
  console.error(message)
  process.exitCode = 1
  throw new Error('consumer type-check failed')
}

/**
 * The `mppkit` command: picks the verb, runs it, and turns every failure into one line
 * on stderr and an exit code (see exitCodes.ts). Errors never print a stack, a secret or
 * a credential.
 */
import { CliError, oneLine } from './errors.js'
import { ExitCode } from './exitCodes.js'
import { MAIN_HELP } from './help.js'
import { inspect } from './inspect.js'
import type { Io, MethodSource } from './io.js'
import { pay } from './pay.js'

export type Environment = { readonly methods: MethodSource }

export async function run(argv: readonly string[], io: Io, environment: Environment): Promise<ExitCode> {
  const [verb, ...rest] = argv
  try {
    switch (verb) {
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.stdout(MAIN_HELP + '\n')
        return verb === undefined ? ExitCode.usage : ExitCode.ok
      case 'inspect':
        return await inspect(rest, io)
      case 'pay':
        return await pay(rest, io, environment.methods)
      case 'conformance':
        return await conformance(rest)
      default:
        throw new CliError(`unknown command ${JSON.stringify(verb)}`, 'mppkit --help lists the commands', ExitCode.usage)
    }
  } catch (error) {
    // Not ours: its message could quote anything, so only its kind is printed.
    const failure =
      error instanceof CliError
        ? error
        : new CliError(`unexpected ${(error as Error)?.name ?? 'error'}`, 'report it with the command you ran, without secrets', ExitCode.error)
    // With --json the error is a JSON line too: {"error":{"message","fix","exitCode"}}.
    if (rest.includes('--json')) io.stderr(JSON.stringify({ error: { message: failure.message, fix: failure.fix ?? null, exitCode: failure.exitCode } }) + '\n')
    else io.stderr(oneLine(failure) + '\n')
    return failure.exitCode
  }
}

/** `mppkit conformance ...` is `mppkit-conformance ...`: that module reads process.argv when loaded. */
async function conformance(args: readonly string[]): Promise<ExitCode> {
  process.argv = [process.argv[0]!, 'mppkit-conformance', ...args]
  await import('../conformance/cli.js')
  return (Number(process.exitCode ?? 0) as ExitCode) || ExitCode.ok
}

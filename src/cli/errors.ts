/**
 * The one error type the CLI raises itself: what is wrong and how to fix it, each in
 * a few words, printed as one line. It never carries a secret.
 */
import { ExitCode } from './exitCodes.js'

export class CliError extends Error {
  constructor(
    message: string,
    /** What to do about it, e.g. "pass --rpc URL". */
    readonly fix: string | undefined,
    readonly exitCode: ExitCode = ExitCode.usage,
  ) {
    super(message)
  }
}

export const usageError = (message: string, fix?: string) => new CliError(message, fix, ExitCode.usage)

/** One line: "mppkit: <message> (fix: <fix>)". */
export function oneLine(error: CliError): string {
  const text = `mppkit: ${error.message}${error.fix ? ` (fix: ${error.fix})` : ''}`
  return text.replace(/\s*\n\s*/g, ' ')
}

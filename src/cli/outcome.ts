/**
 * A failed `pay` as one line and an exit code: refused by policy, payment failed,
 * outcome unknown, or an error before any payment. Only mppkit's own messages are
 * printed whole (they never quote a credential); anything else goes through safeText.
 */
import { PaymentDeniedError, PaymentOutcomeUnknownError, PaymentRejectedError } from '../client/errors.js'
import { isMppError } from '../errors.js'
import { CliError } from './errors.js'
import { ExitCode } from './exitCodes.js'
import { safeText } from './safeText.js'

export function failure(error: unknown, context: { url: string; approved: boolean; hookReasons: readonly string[] }): CliError {
  if (error instanceof CliError) return error
  if (error instanceof PaymentDeniedError) {
    const reasons = [...new Set([...context.hookReasons, ...error.reasons.filter((r) => r !== 'the approver said no' || context.hookReasons.length === 0)])]
    return new CliError(`payment refused by policy, nothing paid: ${reasons.join('; ')}`, 'change the policy file or --max if you mean to pay this', ExitCode.refused)
  }
  if (error instanceof PaymentOutcomeUnknownError)
    return new CliError(
      `${error.message} (challenge ${error.challengeId ?? 'unknown'})`,
      'check the payment with the payee or on the rail before retrying; the budget stays reserved',
      ExitCode.unknown,
    )
  if (error instanceof PaymentRejectedError) return new CliError(`${error.message}, nothing settled`, `mppkit inspect ${context.url} shows what it asks for`, ExitCode.failed)
  if (isMppError(error, 'policy-denied')) return new CliError(`refused, nothing paid: ${error.message}`, 'pay over https, or to a payee and token you expect', ExitCode.refused)
  if (isMppError(error, 'method-unsupported'))
    return new CliError(`${error.message}, nothing paid`, `mppkit inspect ${context.url} shows the methods it accepts`, ExitCode.failed)
  if (context.approved) {
    const detail = isMppError(error) ? error.message : safeText(error)
    return new CliError(`the payment could not be made${detail ? `: ${detail}` : ''} before the credential was sent`, 'check the account balance and the RPC endpoint', ExitCode.failed)
  }
  if (isMppError(error)) return new CliError(error.message, undefined, ExitCode.error)
  const detail = safeText(error)
  return new CliError(`request to ${new URL(context.url).origin} failed${detail ? `: ${detail}` : ''}`, 'check the URL and your network', ExitCode.error)
}

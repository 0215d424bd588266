/**
 * The `mppkit` exit codes, one per outcome, so scripts can tell what happened without
 * reading the text. They are part of the command's interface: never renumber one.
 */
export const ExitCode = {
  /** Done: paid, or no payment was needed (`pay`); the URL asks for payment (`inspect`). */
  ok: 0,
  /** Something else went wrong before any payment: the network, an unreadable answer, a file. */
  error: 1,
  /** Bad usage: an unknown option, a missing argument, an invalid policy file, no account. */
  usage: 2,
  /** Refused by policy: a maximum, a budget, an allow/deny list or the approver said no. Nothing was paid. */
  refused: 3,
  /** The payment failed or could not be made (no offer this client can pay, the server rejected it). Nothing settled. */
  failed: 4,
  /** A payment was sent and its outcome is unknown: it may have settled. Do not simply retry. */
  unknown: 5,
  /** `inspect` only: the URL answered without asking for payment. */
  noPayment: 6,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** The table printed by `mppkit --help`. */
export const EXIT_CODES_HELP = `exit codes:
  0  ok: paid, or nothing to pay (pay); the URL asks for payment (inspect)
  1  error before any payment (network, unreadable response, file)
  2  usage error (bad option, invalid policy file, no account configured)
  3  refused by policy (maximum, budget, allow/deny list, approval); nothing paid
  4  payment failed or no offer could be paid; nothing settled
  5  outcome unknown: a payment was sent and may have settled; do not retry blindly
  6  inspect: the URL asks for no payment`

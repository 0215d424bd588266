/** `--help` text for the command and each verb. */
import { EXIT_CODES_HELP } from './exitCodes.js'

export const MAIN_HELP = `usage: mppkit <command> [options]

commands:
  inspect <url>      show the payment a URL asks for, decoded; pays nothing
  pay <url>          fetch a URL, paying its 402 under a policy (curl-like)
  conformance ...    run the spec vectors or black-box server checks (mppkit conformance --help)

options for every command: -h/--help, --json (machine output; errors as one JSON line on stderr), -q/--quiet

${EXIT_CODES_HELP}`

const REQUEST_OPTIONS = `  -X, --request METHOD     HTTP method (default GET, or POST with -d)
  -H, --header 'Name: v'   add a request header (repeatable)
  -d, --data DATA          request body; @file reads a file, @- reads stdin`

export const INSPECT_HELP = `usage: mppkit inspect <url> [-X METHOD] [-H 'Name: value'] [-d DATA] [--json]

Fetches the URL once and, when it answers 402, prints every Payment challenge decoded:
method/intent, amount in units, recipient, expiry, description and body digest binding.
Nothing is paid and no credential is sent.

${REQUEST_OPTIONS}
      --json               print the inspection as JSON on stdout
  -q, --quiet              print nothing; only the exit code

exit codes: 0 the URL asks for payment, 6 it does not, 1 network or other error, 2 usage`

export const PAY_HELP = `usage: mppkit pay <url> [options]

Fetches the URL; when it answers 402, pays one offer within the policy, retries, and
prints the response body on stdout and the receipt on stderr.

${REQUEST_OPTIONS}
  -o, --output FILE        write the body to FILE instead of stdout
  -i, --include            print the status line and response headers before the body
      --policy FILE        spending policy, JSON or YAML (see below; default: MPPKIT_POLICY)
      --max AMOUNT         most this one request may pay: "0.25" (any currency, in its
                           units) or "0.25 usd"; combined with --policy when both are given
      --ledger FILE        where budgets are kept, shared by every mppkit on this machine
                           (default ~/.mppkit/spend.json; only used when the policy has budgets)
      --rpc URL            Tempo RPC endpoint (or MPPKIT_TEMPO_RPC)
      --dry-run            quote only: show the offers and what the policy says; pay nothing
  -y, --yes                approve payments at or above the policy's approval threshold
      --json               receipt (or quote) as JSON on stderr (stdout for --dry-run)
  -q, --quiet              no progress or receipt text; errors still print

account: MPPKIT_TEMPO_KEY holds the Tempo private key (0x + 64 hex) that pays.
A policy or --max is required: mppkit never pays without a limit.

policy file (every amount in whole units of its currency, as a string):
  maxAmount:   { usd: "0.50" }                  per-request maximum per currency
  budgets:     [{ currency: usd, limit: "5", period: day }]   hour, day or month (UTC)
  allow:       { origins: [https://api.example.com], recipients: [...], methods: [tempo] }
  deny:        { origins: [...], recipients: [...], realms: [...], methods: [...] }
  approveAbove: { usd: "1.00" }                 ask before paying this much or more
  decimals:    { mytoken: 6 }                   units for currencies mppkit does not know
Currencies are named as challenges name them (usd, a token address) or by Tempo token
name (pathUSD, alphaUSD, betaUSD, thetaUSD).

exit codes: 0 paid or nothing to pay, 1 error before paying, 2 usage, 3 refused by
policy, 4 payment failed, 5 outcome unknown (may have settled)`

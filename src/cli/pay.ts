/**
 * `mppkit pay <url>`: a curl-like fetch that pays a 402 under a policy. The body goes to
 * stdout (or -o FILE), the receipt and progress to stderr. `--dry-run` quotes only.
 */
import { writeFile } from 'node:fs/promises'
import { createPaymentFetch, type PaidResponse } from '../client/PaymentFetch.js'
import type { ClientEvent } from '../client/events.js'
import { fileSpendLedger } from '../client/ledgers/file.js'
import { CliError } from './errors.js'
import { ExitCode } from './exitCodes.js'
import { PAY_HELP } from './help.js'
import { printable } from './inspectText.js'
import type { Io, MethodSource } from './io.js'
import { approver } from './limits.js'
import { failure } from './outcome.js'
import { limitsOf, parsePayArgs } from './payOptions.js'
import { quoteLines } from './quote.js'
import { buildRequest } from './request.js'

export async function pay(args: readonly string[], io: Io, methods: MethodSource): Promise<ExitCode> {
  const parsed = parsePayArgs(args)
  const { values } = parsed
  if (parsed.help) {
    io.stdout(PAY_HELP + '\n')
    return ExitCode.ok
  }
  const { url } = parsed
  const init = await buildRequest(values, io.stdin)
  const limits = await limitsOf(values, io)
  const drivers = await methods({ env: io.env, rpc: values.rpc })
  const hook = approver({ max: limits.max, approveAbove: limits.approveAbove, units: limits.currencies, preapproved: values.yes === true, confirm: io.confirm })
  const say = (text: string) => void (values.quiet || values.json || io.stderr(`mppkit: ${printable(text)}\n`))
  let approved = false
  const onEvent = (event: ClientEvent) => {
    if (event.type === 'payment-approved') {
      approved = true
      say(`paying ${event.offer.display} to ${event.offer.recipient ?? event.offer.realm} for ${event.offer.origin} (${event.offer.method}/${event.offer.intent})`)
    }
  }
  const paying = createPaymentFetch({
    methods: drivers,
    fetch: io.fetch,
    now: io.now,
    policy: { ...limits.policy, approve: hook.approve },
    ...(limits.policy.budgets?.length && { spendLedger: fileSpendLedger(limits.ledgerPath, { now: io.now }) }),
    onEvent,
  })

  if (values['dry-run']) {
    const quote = await paying.quote(url, init).catch((error: unknown) => {
      throw failure(error, { url, approved: false, hookReasons: [] })
    })
    const { text, json, exitCode } = await quoteLines(url, quote, limits)
    io.stdout(values.json ? JSON.stringify(json, null, 2) + '\n' : values.quiet ? '' : text)
    return exitCode
  }

  let response: PaidResponse
  try {
    response = await paying(url, init)
  } catch (error) {
    throw failure(error, { url, approved, hookReasons: hook.reasons })
  }
  await writeBody(response, values, io)
  const receipt = response.payment?.receipt
  if (response.payment) {
    const { offer } = response.payment
    if (values.json) io.stderr(JSON.stringify({ paid: { ...offer, amount: offer.amount.toString() }, receipt: receipt ?? null }) + '\n')
    else if (receipt) say(`paid ${offer.display}; receipt ${receipt.reference} (${receipt.method}, ${receipt.timestamp})`)
    else say(`paid ${offer.display}; the server sent no readable receipt (HTTP ${response.status})`)
  } else if (response.status !== 200) say(`HTTP ${response.status}, no payment asked`)
  return ExitCode.ok
}

async function writeBody(response: Response, values: { output?: string | undefined; include?: boolean | undefined }, io: Io): Promise<void> {
  if (values.include) {
    const head = [`HTTP ${response.status} ${response.statusText}`.trimEnd()]
    response.headers.forEach((value, name) => head.push(`${name}: ${value}`))
    io.stdout(head.join('\r\n') + '\r\n\r\n')
  }
  const body = new Uint8Array(await response.arrayBuffer())
  if (values.output === undefined) return io.stdout(body)
  try {
    await writeFile(values.output, body)
  } catch {
    const paid = (response as PaidResponse).payment !== undefined
    throw new CliError(
      `${paid ? 'paid, but ' : ''}could not write the body to ${values.output}`,
      paid ? 'check the -o path; the payment is done, do not pay again' : 'check the -o path',
      ExitCode.error,
    )
  }
}

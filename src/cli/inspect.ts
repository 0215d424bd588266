/** `mppkit inspect <url>`: one request, no credential; the 402's challenges decoded. */
import { COMMON, parse, REQUEST, urlArgument } from './args.js'
import { inspectResponse } from './describe.js'
import { CliError } from './errors.js'
import { ExitCode } from './exitCodes.js'
import { INSPECT_HELP } from './help.js'
import { inspectionText } from './inspectText.js'
import type { Io } from './io.js'
import { buildRequest } from './request.js'

export async function inspect(args: readonly string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse('inspect', args, { ...COMMON, ...REQUEST })
  if (values.help) {
    io.stdout(INSPECT_HELP + '\n')
    return ExitCode.ok
  }
  const url = urlArgument('inspect', positionals)
  const init = await buildRequest(values, io.stdin)
  let response: Response
  try {
    response = await io.fetch(url, { ...init, redirect: 'follow' })
  } catch {
    throw new CliError(`could not reach ${new URL(url).origin}`, 'check the URL and your network', ExitCode.error)
  }
  const now = io.now()
  const inspection = await inspectResponse(response.url || url, response, now)
  await response.body?.cancel()
  const asks = response.status === 402 && (inspection.challenges.length > 0 || inspection.malformed.length > 0)
  if (values.json) io.stdout(JSON.stringify({ ...inspection, paymentRequired: asks }, null, 2) + '\n')
  else if (!values.quiet) {
    if (asks) io.stdout(inspectionText(inspection, now))
    else if (response.status === 402) io.stdout(`${inspection.url} answered 402 without a Payment challenge: nothing mppkit can pay\n`)
    else io.stdout(`${inspection.url} asks for no payment (HTTP ${response.status})\n`)
  }
  return asks ? ExitCode.ok : ExitCode.noPayment
}

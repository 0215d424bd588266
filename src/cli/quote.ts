/** `mppkit pay --dry-run`: what a URL would cost and what the policy and --max say of each offer. */
import type { Quote } from '../client/PaymentFetch.js'
import { ExitCode } from './exitCodes.js'
import { printable } from './inspectText.js'
import { overMax } from './limits.js'
import type { Limits } from './payOptions.js'

export async function quoteLines(url: string, quote: Quote, limits: Limits): Promise<{ text: string; json: unknown; exitCode: ExitCode }> {
  if (quote.status !== 402) return { text: `${url} asks for no payment (HTTP ${quote.status})\n`, json: { url, status: quote.status, offers: [] }, exitCode: ExitCode.ok }
  const offers = quote.offers.map((offer) => {
    const over = limits.max && overMax(limits.max, offer, limits.currencies)
    const refusedBecause = [...offer.refusedBecause, ...(over ? [over] : [])]
    const threshold = limits.approveAbove && (limits.approveAbove[offer.currency] ?? 0n)
    return { ...offer, amount: offer.amount.toString(), refusedBecause, needsApproval: threshold !== undefined && offer.amount >= threshold }
  })
  const payable = offers.filter((offer) => offer.refusedBecause.length === 0)
  const lines = [`${url} asks for payment; nothing was paid (dry run)`]
  for (const offer of offers) {
    const verdict = offer.refusedBecause.length > 0 ? `refused: ${offer.refusedBecause.join('; ')}` : offer.needsApproval ? 'would ask for approval' : 'would pay'
    lines.push(printable(`  ${offer.method}/${offer.intent} ${offer.display} to ${offer.recipient ?? offer.realm}: ${verdict}`))
  }
  if (offers.length === 0) lines.push('  no offer this client can pay')
  const exitCode = offers.length === 0 ? ExitCode.failed : payable.length === 0 ? ExitCode.refused : ExitCode.ok
  return { text: lines.join('\n') + '\n', json: { url, status: 402, offers }, exitCode }
}

/** `mppkit inspect` output for people: one block per challenge. */
import type { Described, Inspection } from './describe.js'
import { relative } from './time.js'

export function inspectionText(inspection: Inspection, now: number): string {
  const count = inspection.challenges.length
  const lines = [`${inspection.url} asks for payment (HTTP ${inspection.status}): ${count} challenge${count === 1 ? '' : 's'}`]
  inspection.challenges.forEach((challenge, index) => lines.push('', ...challengeLines(challenge, index + 1, now)))
  for (const message of inspection.malformed) lines.push('', `unreadable challenge: ${message}`)
  return lines.join('\n') + '\n'
}

function challengeLines(c: Described, n: number, now: number): string[] {
  const lines = [printable(`[${n}] ${c.method}/${c.intent}${c.amount ? `  ${c.amount.display}` : ''}`)]
  const field = (name: string, value: string) => lines.push(`    ${name.padEnd(12)}${printable(value)}`)
  if (c.recipient !== undefined) field('recipient', c.recipient)
  if (c.amount && c.amount.decimals !== undefined) field('base units', `${c.amount.base} of ${c.amount.currency}`)
  if (c.expires) field('expires', `${c.expires.at} (${c.expires.expired ? 'expired ' : ''}${relative(now + c.expires.inMs, now)})`)
  else field('expires', 'no expiry given')
  if (c.description !== undefined) field('description', c.description)
  field('body digest', c.digest === undefined ? 'not bound to a request body' : `bound to the request body: ${c.digest}`)
  field('realm', c.realm)
  field('challenge', c.id)
  if (c.problem !== undefined) field('unusable', c.problem)
  else if (!c.amount && c.request) field('request', JSON.stringify(c.request))
  else if (c.request) {
    const { amount: _a, currency: _c, recipient: _r, ...rest } = c.request
    if (Object.keys(rest).length > 0) field('details', JSON.stringify(rest))
  }
  return lines
}

/** Server-chosen text reaches a terminal: control characters are shown escaped, never obeyed. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * A message from code that is not mppkit's (an RPC library, the network) may quote a
 * signed transaction or a header. Before it is printed, long hex and base64-like runs
 * are cut out and it is kept to one short line.
 */
export function safeText(error: unknown): string {
  const source = error as { shortMessage?: unknown; message?: unknown } | undefined
  const text = typeof source?.shortMessage === 'string' ? source.shortMessage : typeof source?.message === 'string' ? source.message : ''
  const line = text.split('\n')[0]!
  return line
    .replace(/0x[0-9a-fA-F]{16,}/g, '0x…')
    .replace(/[A-Za-z0-9+/_=-]{24,}/g, '…')
    .slice(0, 160)
}

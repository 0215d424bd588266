/** Durations for people: "in 4m 59s", "12s ago". */
export function relative(at: number, now: number): string {
  const ms = at - now
  const text = duration(Math.abs(ms))
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

export function duration(ms: number): string {
  let seconds = Math.floor(ms / 1000)
  const days = Math.floor(seconds / 86400)
  seconds -= days * 86400
  const hours = Math.floor(seconds / 3600)
  seconds -= hours * 3600
  const minutes = Math.floor(seconds / 60)
  seconds -= minutes * 60
  const parts = [days && `${days}d`, hours && `${hours}h`, minutes && `${minutes}m`, `${seconds}s`].filter(Boolean)
  return parts.slice(0, 2).join(' ')
}

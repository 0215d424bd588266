/**
 * One at a time per file within a process: the file ledger's calls on the same path
 * queue here before they contend for the lock file, so a burst of payments in one
 * process costs one lock waiter instead of one per payment (polling, not correctness:
 * the lock file alone keeps processes apart).
 */
const tails = new Map<string, Promise<unknown>>()

export function serially<T>(path: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(path) ?? Promise.resolve()
  const current = previous.then(work, work)
  const tail = current.catch(() => {})
  tails.set(path, tail)
  void tail.then(() => {
    if (tails.get(path) === tail) tails.delete(path)
  })
  return current
}

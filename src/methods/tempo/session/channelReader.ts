/**
 * Reads channels from the escrow with a short cache, so verifying a burst of vouchers on
 * one channel costs one RPC call, not one per voucher. Concurrent reads of one channel
 * share a call. A finalized channel never changes again and stays cached; any other is
 * re-read once older than `maxAgeMs` or when asked for a `fresh` read (do that before
 * refusing on state that may have moved: a top-up, a cancelled close, a just-opened channel).
 *
 * @example
 * const channels = ChannelReader.create({ read: (id) => Escrow.getChannel(client, escrow, id) })
 * const channel = await channels.read(channelId)
 */
import type { Hex } from 'viem'
import type { Channel } from './escrow.js'

export type Options = {
  /** The chain read, e.g. `(id) => Escrow.getChannel(client, escrow, id)`. */
  readonly read: (channelId: Hex) => Promise<Channel>
  /** How long a read of a live channel is reused. Default 2,000 ms. */
  readonly maxAgeMs?: number
  /** Most channels cached; the oldest are dropped first. Default 10,000. */
  readonly maxEntries?: number
  readonly now?: () => number
}

export type ChannelReader = {
  read(channelId: Hex, options?: { readonly fresh?: boolean }): Promise<Channel>
  /** Drops the cached read (after this server changed the channel: settle, close). */
  forget(channelId: Hex): void
}

export function create(options: Options): ChannelReader {
  const maxAgeMs = options.maxAgeMs ?? 2_000
  const maxEntries = options.maxEntries ?? 10_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { channel: Channel; at: number }>()
  const inflight = new Map<string, Promise<Channel>>()

  function fetch(id: string): Promise<Channel> {
    const at = now()
    return options.read(id as Hex).then((channel) => {
      const held = cache.get(id)
      if (!held || held.at <= at) {
        cache.delete(id)
        cache.set(id, { channel, at })
        while (cache.size > maxEntries) cache.delete(cache.keys().next().value!)
      }
      return channel
    })
  }

  /** One call for every cached read that misses at once. */
  function shared(id: string): Promise<Channel> {
    const pending = inflight.get(id)
    if (pending) return pending
    const promise = fetch(id).finally(() => inflight.delete(id))
    inflight.set(id, promise)
    return promise
  }

  return {
    async read(channelId, readOptions = {}) {
      const id = channelId.toLowerCase()
      // A fresh read starts its own call: one already under way may predate the caller's reason to ask.
      if (readOptions.fresh) return fetch(id)
      const hit = cache.get(id)
      if (hit && (hit.channel.finalized || now() - hit.at < maxAgeMs)) return hit.channel
      return shared(id)
    },
    forget(channelId) {
      cache.delete(channelId.toLowerCase())
    },
  }
}

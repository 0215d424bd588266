/**
 * The challenge-bound memo ("attribution memo"), in the 32-byte layout mppx uses, so
 * that a transfer proves which challenge it pays and mppx peers interoperate:
 *
 *   keccak256("mpp")[0..4] ‖ 0x01 ‖ keccak256(realm)[0..10] ‖ keccak256(clientId)[0..10] (or zeros) ‖ keccak256(challengeId)[0..7]
 */
import { keccak256, stringToBytes, toHex, type Hex } from 'viem'

const TAG = keccak256(stringToBytes('mpp'), 'bytes').slice(0, 4)
const VERSION = 0x01

export function encode(realm: string, challengeId: string, clientId?: string): Hex {
  const out = new Uint8Array(32)
  out.set(TAG, 0)
  out[4] = VERSION
  out.set(hash(realm).slice(0, 10), 5)
  if (clientId !== undefined) out.set(hash(clientId).slice(0, 10), 15)
  out.set(hash(challengeId).slice(0, 7), 25)
  return toHex(out)
}

/** True when `memo` binds this realm and challenge id (any client id). */
export function binds(memo: Hex, realm: string, challengeId: string): boolean {
  const expected = encode(realm, challengeId).toLowerCase()
  const actual = memo.toLowerCase()
  // Compare everything but the client-id bytes (hex chars 32..52 after "0x").
  return actual.length === 66 && actual.slice(0, 32) === expected.slice(0, 32) && actual.slice(52) === expected.slice(52)
}

function hash(text: string): Uint8Array {
  return keccak256(stringToBytes(text), 'bytes')
}

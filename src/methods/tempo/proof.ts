/**
 * Zero-amount proofs: an EIP-712 signature over the challenge id by the payer named
 * in `source` (`did:pkh:eip155:<chainId>:<address>`).
 */
import { getAddress, verifyTypedData, type Address, type Hex } from 'viem'

const DID_PKH = /^did:pkh:eip155:(0|[1-9][0-9]*):(0x[0-9a-fA-F]{40})$/

export function did(chainId: number, address: Address): string {
  return `did:pkh:eip155:${chainId}:${getAddress(address)}`
}

export function parseDid(source: string | undefined): { chainId: number; address: Address } | undefined {
  const match = source === undefined ? null : DID_PKH.exec(source)
  return match ? { chainId: Number(match[1]), address: match[2] as Address } : undefined
}

/** The draft's typed data: domain {name "MPP", version "1", chainId}, Proof(string challengeId). */
export function typedData(chainId: number, challengeId: string) {
  return {
    domain: { name: 'MPP', version: '1', chainId },
    types: { Proof: [{ name: 'challengeId', type: 'string' }] },
    primaryType: 'Proof',
    message: { challengeId },
  } as const
}

/** mppx 0.11.0's variant (version "3", binds the account and realm too), accepted for interop. */
export function mppxTypedData(chainId: number, challengeId: string, realm: string, account: Address) {
  return {
    domain: { name: 'MPP', version: '3', chainId },
    types: {
      Proof: [
        { name: 'account', type: 'address' },
        { name: 'challengeId', type: 'string' },
        { name: 'realm', type: 'string' },
      ],
    },
    primaryType: 'Proof',
    message: { account, challengeId, realm },
  } as const
}

/** True when `signature` is `address`'s proof for this challenge, in either form. */
export async function verify(options: { address: Address; chainId: number; challengeId: string; realm: string; signature: Hex }): Promise<boolean> {
  const { address, chainId, challengeId, realm, signature } = options
  const check = (data: ReturnType<typeof typedData> | ReturnType<typeof mppxTypedData>) =>
    verifyTypedData({ ...data, address, signature } as Parameters<typeof verifyTypedData>[0]).catch(() => false)
  return (await check(typedData(chainId, challengeId))) || (await check(mppxTypedData(chainId, challengeId, realm, address)))
}

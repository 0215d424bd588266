/** viem chain definitions for Tempo networks by id and RPC URL (a local node is chain 31337). */
import { defineChain, type Chain } from 'viem'
import { tempoLocalnet } from 'viem/chains'

/** A Tempo chain at `rpcUrl` (default id 31337, what `anvil --network tempo` reports). */
export function tempoChain(rpcUrl: string, id = 31337): Chain {
  return defineChain({ ...tempoLocalnet, id, rpcUrls: { default: { http: [rpcUrl] } } })
}

/** TIP-20 stablecoins predeployed on Tempo networks (6 decimals). */
export const TOKENS = {
  pathUSD: '0x20c0000000000000000000000000000000000000',
  alphaUSD: '0x20c0000000000000000000000000000000000001',
  betaUSD: '0x20c0000000000000000000000000000000000002',
  thetaUSD: '0x20c0000000000000000000000000000000000003',
} as const

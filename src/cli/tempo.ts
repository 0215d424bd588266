/**
 * The account `mppkit pay` pays with: a Tempo private key from MPPKIT_TEMPO_KEY and an
 * RPC endpoint (--rpc or MPPKIT_TEMPO_RPC). The chain id is asked of the endpoint. The
 * key is never printed; errors say which variable to fix, not its value.
 */
import { usageError, CliError } from './errors.js'
import { ExitCode } from './exitCodes.js'
import type { MethodSource } from './io.js'

export const tempoMethods: MethodSource = async ({ env, rpc }) => {
  const key = env.MPPKIT_TEMPO_KEY
  if (!key) throw usageError('no account to pay with: MPPKIT_TEMPO_KEY is not set', 'export MPPKIT_TEMPO_KEY with a Tempo private key (0x + 64 hex digits)')
  if (!/^0x[0-9a-fA-F]{64}$/.test(key.trim())) throw usageError('MPPKIT_TEMPO_KEY is not a private key', 'it must be 0x followed by 64 hex digits')
  const endpoint = rpc ?? env.MPPKIT_TEMPO_RPC
  if (!endpoint) throw usageError('no Tempo RPC endpoint', 'pass --rpc URL or set MPPKIT_TEMPO_RPC')
  if (!/^(https?|wss?):\/\//.test(endpoint)) throw usageError('the Tempo RPC endpoint is not an http(s) or ws(s) URL', 'pass --rpc https://…')
  let modules
  try {
    modules = await Promise.all([import('viem'), import('viem/accounts'), import('viem/actions'), import('../methods/tempo/index.js')])
  } catch {
    throw usageError('paying with Tempo needs viem, which is not installed', 'npm install viem')
  }
  const [{ createClient, http }, { privateKeyToAccount }, { getChainId }, { chargeClient, tempoChain }] = modules
  const account = privateKeyToAccount(key.trim() as `0x${string}`)
  let chainId: number
  try {
    chainId = await getChainId(createClient({ transport: http(endpoint) }))
  } catch {
    throw new CliError(`the Tempo RPC endpoint at ${new URL(endpoint).host} did not answer`, 'check --rpc and that the node is running', ExitCode.error)
  }
  const client = createClient({ chain: tempoChain(endpoint, chainId), transport: http(endpoint) })
  return [chargeClient({ account, client })]
}

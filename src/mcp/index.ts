export { paidOperation, type McpCheck, type PaidOperation, type PaidOperationOptions } from './server.js'
export { createMcpPaymentClient, type McpPaymentClient, type McpPaymentClientConfig } from './client.js'
export {
  CREDENTIAL_META,
  ErrorCode,
  RECEIPT_META,
  fromMcpChallenge,
  toMcpChallenge,
  type JsonRpcError,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type McpChallenge,
} from './wire.js'

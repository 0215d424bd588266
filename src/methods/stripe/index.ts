export { chargeServer, DEFAULT_API_VERSION, type ChargeServerOptions, type Connect } from './server.js'
export { chargeClient, type ChargeClientOptions, type TokenLimits } from './client.js'
export { ChargePayload, ChargeRequest } from './schema.js'
export { decimalsOf, minimumOf } from './currencies.js'

export {
  createGateway,
  type Gateway,
  type GatewayConfig,
  type GatewayContext,
  type GatewayRoute,
  type Price,
} from './createGateway.js'
export { stripHopByHop } from './hopByHop.js'

export { runFile, diff, type VectorFile, type VectorCase, type CaseResult } from './vectors.js'
export { operations, type Operation } from './operations.js'
export {
  runServerConformance,
  formatServerReport,
  type ServerConformanceOptions,
  type ServerCaseResult,
  type ServerReport,
  type Pay,
  type Level,
  type Status,
} from './server.js'

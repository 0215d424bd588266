export { runFile, diff, type VectorFile, type VectorCase, type CaseResult } from './vectors.js'
export { operations, type Operation } from './operations.js'

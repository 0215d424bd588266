import { MppError } from '../errors.js'
import * as Base64url from './base64url.js'
import { canonicalize } from './jcs.js'
import * as Utf8 from './utf8.js'

export type JsonObject = { [key: string]: unknown }

/** Parses JSON text that must be a top-level object. */
export function parseObject(text: string): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new MppError('json-invalid', 'value is not valid JSON')
  }
  if (!isObject(value)) throw new MppError('json-not-object', 'JSON value is not an object')
  return value
}

/** base64url (strict) -> UTF-8 (fatal) -> JSON object. */
export function decodeObject(encoded: string): JsonObject {
  return parseObject(Utf8.fromBytes(Base64url.decode(encoded)))
}

/** JSON object -> JCS -> UTF-8 -> unpadded base64url. */
export function encodeCanonical(value: JsonObject): string {
  return Base64url.encode(Utf8.toBytes(canonicalize(value)))
}

/** JSON object -> JSON.stringify (insertion order) -> UTF-8 -> unpadded base64url. */
export function encodeObject(value: JsonObject): string {
  return Base64url.encode(Utf8.toBytes(JSON.stringify(value)))
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

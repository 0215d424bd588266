/**
 * The encodings MPP puts on the wire, for callers that build fields by hand:
 * JCS (RFC 8785) and strict unpadded base64url (RFC 4648 §5). `canonicalize` refuses
 * nesting deeper than `MAX_DEPTH` (64) levels with `jcs-too-deep`.
 */
export { canonicalize, MAX_DEPTH } from './internal/jcs.js'
export { decode as base64urlDecode, encode as base64urlEncode } from './internal/base64url.js'
export { decodeObject, encodeCanonical } from './internal/json.js'

// Declared here rather than re-exported: the bundled declarations turn a type
// re-exported through a namespace (`export * as Json`) into a value (TS2693).
import type { JsonObject as InternalJsonObject } from './internal/json.js'
/** A parsed JSON object. */
export type JsonObject = InternalJsonObject

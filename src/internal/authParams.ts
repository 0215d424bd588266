import { MppError } from '../errors.js'

/**
 * One challenge of a `WWW-Authenticate` field value, as RFC 9110 §11 spells it:
 * a scheme followed by either a token68 or a list of auth-params.
 */
export type RawChallenge = {
  /** The scheme as written (compare case-insensitively). */
  scheme: string
  /** Parameters in order, names lowercased, values unquoted and unescaped. */
  params: Array<[name: string, value: string]>
  token68?: string
}

// tchar per RFC 9110 §5.6.2.
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1
// token68 per RFC 9110 §11.2, without its trailing "=" padding.
const T68 = new Uint8Array(128)
for (const c of '-._~+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') T68[c.charCodeAt(0)] = 1

const SP = 0x20
const HTAB = 0x09
const COMMA = 0x2c
const EQ = 0x3d
const DQUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Splits a `WWW-Authenticate` field value (possibly several lines joined with ", ",
 * as `fetch` joins them) into its challenges, in order. The scan is a single
 * left-to-right pass, so its cost is linear in the input whatever the input is.
 */
export function parseChallenges(input: string): RawChallenge[] {
  const { challenges, error } = parseChallengesSettled(input)
  if (error) throw error
  return challenges
}

/**
 * Like {@link parseChallenges}, but a grammar error stops the scan instead of losing
 * it: the challenges completed before the error are returned with it (the one being
 * read when the error struck is dropped, since it is incomplete).
 */
export function parseChallengesSettled(input: string): { challenges: RawChallenge[]; error?: MppError } {
  const scanner = new Scanner(input)
  try {
    return { challenges: scanner.challenges() }
  } catch (error) {
    return { challenges: scanner.completed(), error: error as MppError }
  }
}

class Scanner {
  private i = 0
  private readonly out: RawChallenge[] = []
  constructor(private readonly s: string) {}

  /** The challenges fully read so far (all but the one in progress). */
  completed(): RawChallenge[] {
    return this.out.slice(0, -1)
  }

  challenges(): RawChallenge[] {
    const out = this.out
    let current: RawChallenge | undefined
    for (;;) {
      this.skipListSeparators()
      if (this.i >= this.s.length) return out
      const name = this.token()
      if (!name) throw this.error('expected a token')
      const afterName = this.i
      this.skipWhitespace()
      if (this.peek() === EQ && current) {
        // `name BWS "=" BWS value`: another auth-param of the current challenge.
        this.i += 1
        this.skipWhitespace()
        current.params.push([name.toLowerCase(), this.value()])
        this.endOfElement()
        continue
      }
      // A new challenge: `scheme [ 1*SP ( token68 / #auth-param ) ]`.
      this.i = afterName
      current = { scheme: name, params: [] }
      out.push(current)
      const hadSpace = this.skipWhitespace()
      if (this.i >= this.s.length || this.peek() === COMMA) continue
      if (!hadSpace) throw this.error('expected a space after the scheme')
      const token68 = this.tryToken68()
      if (token68 !== undefined) {
        current.token68 = token68
        this.endOfElement()
        continue
      }
      const paramName = this.token()
      if (!paramName) throw this.error('expected an auth-param')
      this.skipWhitespace()
      if (this.peek() !== EQ) throw this.error('expected "=" after a parameter name')
      this.i += 1
      this.skipWhitespace()
      current.params.push([paramName.toLowerCase(), this.value()])
      this.endOfElement()
    }
  }

  private tryToken68(): string | undefined {
    const start = this.i
    let j = start
    while (j < this.s.length && isIn(T68, this.s.charCodeAt(j))) j++
    if (j === start) return undefined
    while (j < this.s.length && this.s.charCodeAt(j) === EQ) j++
    let k = j
    while (k < this.s.length && isWhitespace(this.s.charCodeAt(k))) k++
    // token68 only when it is the whole element: followed by the end or a comma.
    if (k < this.s.length && this.s.charCodeAt(k) !== COMMA) return undefined
    this.i = j
    return this.s.slice(start, j)
  }

  private value(): string {
    if (this.peek() === DQUOTE) return this.quoted()
    const v = this.token()
    if (!v) throw this.error('expected a token or a quoted-string value')
    return v
  }

  private quoted(): string {
    const s = this.s
    let i = this.i + 1
    let out = ''
    let chunk = i
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c === DQUOTE) {
        out += s.slice(chunk, i)
        this.i = i + 1
        return out
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        const next = s.charCodeAt(i + 1)
        if (i + 1 >= s.length || !isQuotedPairChar(next)) throw this.error('bad escape in a quoted-string')
        out += s.slice(chunk, i)
        chunk = i + 1
        i += 1
        continue
      }
      if (!isQdtext(c)) throw this.error('control character in a quoted-string')
    }
    throw this.error('unterminated quoted-string')
  }

  private token(): string {
    const start = this.i
    while (this.i < this.s.length && isIn(TCHAR, this.s.charCodeAt(this.i))) this.i++
    return this.s.slice(start, this.i)
  }

  /** After an element: optional whitespace, then the end or a comma. */
  private endOfElement(): void {
    this.skipWhitespace()
    if (this.i < this.s.length && this.peek() !== COMMA) throw this.error('expected "," between elements')
  }

  private skipListSeparators(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i)
      if (c !== COMMA && !isWhitespace(c)) return
      this.i++
    }
  }

  private skipWhitespace(): boolean {
    const start = this.i
    while (this.i < this.s.length && isWhitespace(this.s.charCodeAt(this.i))) this.i++
    return this.i > start
  }

  private peek(): number {
    return this.s.charCodeAt(this.i)
  }

  private error(what: string): MppError {
    return new MppError('header-syntax', `WWW-Authenticate: ${what} at offset ${this.i}`)
  }
}

function isIn(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1
}

function isWhitespace(c: number): boolean {
  return c === SP || c === HTAB
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; code points above 0xFF are
// accepted too, for strings that were already decoded from bytes by the caller.
function isQdtext(c: number): boolean {
  return c === HTAB || (c >= 0x20 && c !== DQUOTE && c !== BACKSLASH && c !== 0x7f)
}

function isQuotedPairChar(c: number): boolean {
  return c === HTAB || (c >= 0x20 && c !== 0x7f)
}

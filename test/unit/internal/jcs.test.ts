import { describe, expect, it } from 'vitest'
import { MppError } from '../../../src/errors.js'
import { canonicalize, MAX_DEPTH } from '../../../src/internal/jcs.js'

function expectJcsInvalid(value: unknown) {
  let caught: unknown
  try {
    canonicalize(value)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(MppError)
  expect((caught as MppError).code).toBe('jcs-invalid')
}

function fromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, BigInt('0x' + hex))
  return view.getFloat64(0)
}

describe('JCS (RFC 8785)', () => {
  it('§3.2.4 example: sorts members, normalizes numbers and strings, no whitespace', () => {
    // The input text of RFC 8785 §3.2.4, parsed by the platform JSON parser.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    )
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    )
  })

  it('§3.2.3 sorts property names by UTF-16 code units, not by code points or locale', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    const out = canonicalize(input)
    // Expected order from RFC 8785 §3.2.3: \r, 1, \u0080, ö, €, 😀 (U+D83D..), דּ (U+FB33).
    expect(out).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  it('sorts nested objects recursively and keeps array order', () => {
    // digest §8 item 17
    expect(canonicalize({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}')
    expect(canonicalize([{ z: 1, y: 2 }, 3, 'x'])).toBe('[{"y":2,"z":1},3,"x"]')
    expect(canonicalize({ '10': 1, '9': 2, a: 3 })).toBe('{"10":1,"9":2,"a":3}')
  })

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical ES serialization.
  const appendixB: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ]
  for (const [hex, text] of appendixB) {
    it(`Appendix B: ${hex} -> ${text}`, () => {
      expect(canonicalize(fromHex(hex))).toBe(text)
    })
  }

  it('digest §8 item 18: 1.0 -> 1, 1e21 -> 1e+21', () => {
    expect(canonicalize(JSON.parse('[1.0, 1e21, 100, 0.1]'))).toBe('[1,1e+21,100,0.1]')
  })

  it('Appendix B: NaN and ±Infinity have no JSON form', () => {
    expectJcsInvalid(fromHex('7fffffffffffffff'))
    expectJcsInvalid(fromHex('7ff0000000000000'))
    expectJcsInvalid(-Infinity)
    expectJcsInvalid({ a: [NaN] })
  })

  it('§3.2.2.2 strings: escapes only what JSON must, lowercase hex for controls', () => {
    expect(canonicalize('\u0000\u001f\u007f\b\f\n\r\t"\\/')).toBe('"\\u0000\\u001f\u007f\\b\\f\\n\\r\\t\\"\\\\/"')
    expect(canonicalize('é€😀')).toBe('"é€😀"')
  })

  it('rejects lone surrogates in values and in keys (I-JSON, RFC 8785 §3.2.2.2)', () => {
    expectJcsInvalid('\ud800')
    expectJcsInvalid('a\udc00b')
    expectJcsInvalid({ ['\ud83d']: 1 })
    expectJcsInvalid(['ok', '\ude00\ud83d'])
    expect(canonicalize('\ud83d\ude00')).toBe('"😀"')
  })

  it('rejects values JSON cannot represent instead of coercing them', () => {
    expectJcsInvalid(10n)
    expectJcsInvalid(() => 1)
    expectJcsInvalid(Symbol('s'))
    expectJcsInvalid(undefined)
    expectJcsInvalid(new Date(0))
    expectJcsInvalid(new Map())
    expectJcsInvalid({ nested: new Uint8Array(1) })
    expectJcsInvalid([1, undefined])
  })

  it('omits undefined object members, as JSON.stringify does', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}')
    expect(canonicalize({ a: undefined })).toBe('{}')
  })

  it('accepts null-prototype objects and literals', () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.b = true
    bare.a = null
    expect(canonicalize(bare)).toBe('{"a":null,"b":true}')
    expect(canonicalize(null)).toBe('null')
    expect(canonicalize(false)).toBe('false')
    expect(canonicalize([])).toBe('[]')
    expect(canonicalize({})).toBe('{}')
  })

  it('keeps a "__proto__" member that JSON.parse created as data', () => {
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1},"a":2}'))).toBe('{"__proto__":{"x":1},"a":2}')
  })

  it('is re-exported from the public Json namespace', async () => {
    const { Json } = await import('../../../src/index.js')
    expect(Json.canonicalize({ b: 1, a: 2 })).toBe('{"a":2,"b":1}')
  })

  describe('nesting limit', () => {
    function nest(depth: number, kind: 'array' | 'object'): unknown {
      let value: unknown = 1
      for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value }
      return value
    }
    function codeOf(run: () => unknown): string | undefined {
      try {
        run()
      } catch (error) {
        return error instanceof MppError ? error.code : `not an MppError: ${String(error)}`
      }
      return undefined
    }

    it(`accepts exactly MAX_DEPTH (${MAX_DEPTH}) levels of arrays and objects`, () => {
      expect(canonicalize(nest(MAX_DEPTH, 'array'))).toBe('['.repeat(MAX_DEPTH) + '1' + ']'.repeat(MAX_DEPTH))
      expect(canonicalize(nest(MAX_DEPTH, 'object'))).toBe('{"a":'.repeat(MAX_DEPTH) + '1' + '}'.repeat(MAX_DEPTH))
    })

    it('refuses one level more with jcs-too-deep, for arrays, objects and a mix', () => {
      expect(codeOf(() => canonicalize(nest(MAX_DEPTH + 1, 'array')))).toBe('jcs-too-deep')
      expect(codeOf(() => canonicalize(nest(MAX_DEPTH + 1, 'object')))).toBe('jcs-too-deep')
      expect(codeOf(() => canonicalize({ a: nest(MAX_DEPTH, 'array') }))).toBe('jcs-too-deep')
    })

    it('turns nesting that would overflow the stack into a typed error, quickly', () => {
      const deep = nest(200_000, 'array')
      const started = performance.now()
      expect(codeOf(() => canonicalize(deep))).toBe('jcs-too-deep')
      expect(performance.now() - started).toBeLessThan(100)
    })

    it('turns a cyclic value into a typed error, not a stack overflow', () => {
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      expect(codeOf(() => canonicalize(cyclic))).toBe('jcs-too-deep')
    })

    it('takes a caller limit', () => {
      expect(canonicalize({ a: [1] }, { maxDepth: 2 })).toBe('{"a":[1]}')
      expect(codeOf(() => canonicalize({ a: [[1]] }, { maxDepth: 2 }))).toBe('jcs-too-deep')
    })

    it('the public Json namespace applies the same limit', async () => {
      const { Json } = await import('../../../src/index.js')
      expect(Json.MAX_DEPTH).toBe(MAX_DEPTH)
      expect(codeOf(() => Json.canonicalize(nest(MAX_DEPTH + 1, 'object')))).toBe('jcs-too-deep')
    })
  })
})

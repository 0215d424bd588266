/**
 * The Standard Schema v1 interface (standardschema.dev), which zod 4, valibot and
 * arktype implement: drivers may use any of them without core depending on one.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

type Result<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> }

export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output']

/** Validates a value; returns the typed output or a one-line description of the first issue. */
export async function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Promise<{ ok: true; value: InferOutput<S> } | { ok: false; issue: string }> {
  const result = await schema['~standard'].validate(value)
  if (!result.issues) return { ok: true, value: result.value as InferOutput<S> }
  const first = result.issues[0]
  const path = first?.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.')
  return { ok: false, issue: `${path ? `${path}: ` : ''}${first?.message ?? 'invalid'}` }
}

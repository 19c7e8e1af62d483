/**
 * zod to JSON Schema 2020-12 (OpenAPI 3.1's dialect), by zod's own z.toJSONSchema. Two things are
 * added for an OpenAPI document: schemas a conversion puts under its own `$defs` (the recursive
 * JSON of account metadata) move to `components.schemas`, since `#` in an OpenAPI document is
 * the document; and amounts, which the rooms check by hand after zod (a transform), are spelt out.
 */
import { z } from 'zod';
import { isStorableText } from '../../../core/text';
import { JournalBodySchema, JournalLineSchema } from '../journal/schema';

export type JsonSchema = Record<string, unknown>;

/** Amounts in minor units as the journal path takes them (bridge/src/journal/schema.ts checkAmount). */
const AMOUNT_INPUT: JsonSchema = {
  description:
    'minor units, 1..2^128-1: a JSON number (a safe integer) or a string of decimal digits ' +
    '(no sign, point, exponent or leading zero)',
  anyOf: [
    { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    { type: 'string', pattern: '^[1-9][0-9]{0,38}$' },
  ],
};

/** A journal date (journalDateMs): a date, or a date-time with Z or an offset; 1970 to 9999. */
const JOURNAL_DATE: JsonSchema = {
  type: 'string',
  description:
    'ISO 8601 date `YYYY-MM-DD` (UTC midnight) or date-time `YYYY-MM-DDThh:mm[:ss[.f…]]` with ' +
    '`Z` or `±hh:mm`; a real date from 1970-01-01 to 9999-12-31',
  pattern:
    '^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' +
    '(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$',
};

const SPELT_OUT = new Map<unknown, JsonSchema>([
  [JournalLineSchema.shape.amount, AMOUNT_INPUT],
  [JournalBodySchema.shape.date, JOURNAL_DATE],
]);

/** Text the rooms refine with isStorableText: no U+0000 (a lone surrogate JSON Schema cannot say). */
const STORABLE_PATTERN = '^[^\\u0000]*$';

interface ZodInternals {
  _zod: { def: { checks?: Array<{ _zod: { def: { fn?: unknown } } }> } };
}

function isStorableTextSchema(schema: unknown): boolean {
  const checks = (schema as ZodInternals)._zod.def.checks ?? [];
  return checks.some((check) => check._zod.def.fn === isStorableText);
}

export class SchemaConverter {
  /** Hoisted shared schemas, by name: become components.schemas. */
  readonly shared: Record<string, JsonSchema> = {};

  /** The JSON Schema of `schema` as a request (`input`) or a response (`output`) carries it. */
  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      // Bigint defaults (0n) cannot be written as JSON; the transfer's `0` is said in the text.
      unrepresentable: 'any',
      override: (ctx) => {
        if (isStorableTextSchema(ctx.zodSchema) && ctx.jsonSchema.pattern === undefined) {
          ctx.jsonSchema.pattern = STORABLE_PATTERN;
        }
        const spelt = SPELT_OUT.get(ctx.zodSchema);
        if (spelt === undefined) return;
        for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
        Object.assign(ctx.jsonSchema, spelt);
      },
    }) as JsonSchema;
    delete json.$schema;
    const defs = Object.entries((json.$defs ?? {}) as Record<string, JsonSchema>);
    delete json.$defs;
    if (defs.length === 0) return json;
    // The one recursive schema the API has is JSON itself (account metadata); another would
    // need a name of its own here.
    const [[defName, def]] = defs as [[string, JsonSchema]];
    if (defs.length > 1) throw new Error(`several shared schemas in one: ${defs.map(([n]) => n)}`);
    const renames = new Map([[defName, 'JsonValue']]);
    const hoisted = rewriteRefs(def, renames) as JsonSchema;
    const known = this.shared.JsonValue;
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(hoisted)) {
      throw new Error('two different recursive schemas would share the name JsonValue');
    }
    this.shared.JsonValue = hoisted;
    return rewriteRefs(json, renames) as JsonSchema;
  }
}

/** `#/$defs/<name>` → `#/components/schemas/<renamed>`, everywhere in a schema. */
function rewriteRefs(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, renames));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '$ref' && typeof item === 'string' && item.startsWith('#/$defs/')) {
      const name = renames.get(item.slice('#/$defs/'.length));
      if (name === undefined) throw new Error(`unresolved schema reference ${item}`);
      out[key] = `#/components/schemas/${name}`;
    } else {
      out[key] = rewriteRefs(item, renames);
    }
  }
  return out;
}

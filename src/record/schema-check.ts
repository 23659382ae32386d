/**
 * A small structural JSON Schema checker: type, properties, items, required, enum, const,
 * oneOf, minimum and maximum. Enough to prove that the messages we write match the Foxglove
 * schemas, without a validator dependency. With `strict`, a property the schema does not
 * list is an error too (the upstream schemas allow extras; a typo such as `frameId` would
 * then pass unseen, so the tests check strictly).
 */
type Schema = Record<string, any>;

export function checkAgainstSchema(value: unknown, schema: Schema, options: { strict?: boolean } = {}): string[] {
  const errors: string[] = [];
  visit(value, schema, '$', errors, options.strict ?? false);
  return errors;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function visit(v: unknown, s: Schema, path: string, errors: string[], strict: boolean): void {
  if (s.oneOf) {
    const matches = (s.oneOf as Schema[]).filter((alt) => checkAgainstSchema(v, alt, { strict }).length === 0).length;
    if (matches !== 1) errors.push(`${path}: expected exactly one of ${s.oneOf.length} alternatives to match, ${matches} did`);
    return;
  }
  if ('const' in s && v !== s.const) errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(v)) errors.push(`${path}: expected one of ${JSON.stringify(s.enum)}`);
  const t = typeOf(v);
  switch (s.type) {
    case undefined:
      break;
    case 'integer':
      if (t !== 'number' || !Number.isInteger(v)) return void errors.push(`${path}: expected an integer, got ${JSON.stringify(v)}`);
      break;
    case 'number':
      if (t !== 'number' || !Number.isFinite(v as number)) return void errors.push(`${path}: expected a finite number, got ${JSON.stringify(v)}`);
      break;
    default:
      if (t !== s.type) return void errors.push(`${path}: expected ${s.type}, got ${t}`);
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) errors.push(`${path}: ${v} < minimum ${s.minimum}`);
    if (s.maximum !== undefined && v > s.maximum) errors.push(`${path}: ${v} > maximum ${s.maximum}`);
  }
  if (t === 'object' && s.type === 'object') {
    const obj = v as Record<string, unknown>;
    for (const key of (s.required as string[] | undefined) ?? []) {
      if (!(key in obj)) errors.push(`${path}.${key}: required`);
    }
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const [key, val] of Object.entries(obj)) {
      if (props[key]) visit(val, props[key], `${path}.${key}`, errors, strict);
      else if (strict && s.properties) errors.push(`${path}.${key}: not in the schema`);
    }
  }
  if (t === 'array' && s.items) {
    (v as unknown[]).forEach((item, i) => visit(item, s.items, `${path}[${i}]`, errors, strict));
  }
}

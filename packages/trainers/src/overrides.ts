/**
 * Command-line overrides of a config: `--set optim.lr=1e-3 --set target.kind=ema`. A value is read
 * as JSON when it parses (numbers, booleans, null, arrays, objects) and as a plain string
 * otherwise; dotted keys walk into nested objects (numeric segments index arrays). The result is
 * validated by the config's schema afterwards, so a mistyped key is refused by name there.
 */

/** Splits `key=value`; the value is JSON when it parses, else the raw string. */
export function parseOverride(text: string): { path: string[]; value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--set expects key=value (e.g. optim.epochs=10), got "${text}"`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  const path = key.split('.');
  if (path.some((segment) => segment === '')) throw new Error(`--set key "${key}" has an empty segment`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { path, value };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy of `config` with each `key=value` applied in order. */
export function applyOverrides(config: Record<string, unknown>, overrides: readonly string[]): Record<string, unknown> {
  const out = structuredClone(config);
  for (const text of overrides) {
    const { path, value } = parseOverride(text);
    let node: Record<string, unknown> | unknown[] = out;
    path.slice(0, -1).forEach((segment, depth) => {
      const container = node as Record<string, unknown>;
      const next = container[segment];
      if (next === undefined) {
        container[segment] = {};
      } else if (!isPlainObject(next) && !Array.isArray(next)) {
        throw new Error(`--set ${path.join('.')}: "${path.slice(0, depth + 1).join('.')}" is ${JSON.stringify(next)}, not an object`);
      }
      node = container[segment] as Record<string, unknown>;
    });
    (node as Record<string, unknown>)[path[path.length - 1]] = value;
  }
  return out;
}

/** Turns zod issues into messages that name the config key and what is allowed. */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

function keyOf(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter(Boolean).join('.');
}

/** One line per problem, e.g. `optim.lrr: unknown key` or `optim.blr: Too small: expected number to be >0`. */
export function describeConfigIssues(issues: readonly Issue[], prefix = ''): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${keyOf(prefix, [...issue.path, key])}: unknown key`);
    }
    const received = 'input' in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : '';
    return [`${keyOf(prefix, issue.path) || '(root)'}: ${issue.message}${received}`];
  });
}

/** Parses `input`, or throws `invalid <what>:` followed by every problem, one per line. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new Error(`invalid ${what}:\n  ${describeConfigIssues(parsed.error.issues).join('\n  ')}`);
}

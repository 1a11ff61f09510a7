// Numeric limits at the door for JSON trees (charge properties): every number, and every string that reads as a
// number, must lie inside billing/input-limits.ts's limits. Findings go into Lago-style details keyed by path.
import { decimalLimitViolation } from '../../billing/input-limits';

const NUMERIC_LOOKING = /^\s*[+-]?(\d|\.\d)/;

/** Adds `{<path>: [code]}` for every numeric leaf of `value` outside the limits (arrays as `[i]`, objects as `.key`). */
export function collectNumericLimitIssues(value: unknown, path: string, details: Record<string, string[]>): void {
  if (typeof value === 'number' || (typeof value === 'string' && NUMERIC_LOOKING.test(value))) {
    const v = decimalLimitViolation(value);
    // A malformed numeric string is left to the pricing engine's own validation (its codes are more precise).
    if (v && v !== 'invalid_value') (details[path] ??= []).includes(v) || details[path]!.push(v);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => collectNumericLimitIssues(item, `${path}[${i}]`, details));
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectNumericLimitIssues(v, `${path}.${k}`, details);
  }
}

/** Plan trial periods, in days: at most ten years (the backdating bound of subscriptions). */
export const MAX_TRIAL_PERIOD_DAYS = 3650;

// Threshold ladders, shared by the subscription workflow (cheap estimate) and activities/thresholds.ts
// (confirmed evaluation). Pure and deterministic; values are decimal strings (minor units for amounts).
import { dec, str } from './money';
/**
 * The levels of one threshold set (a plan's usage_thresholds, or one alert's thresholds), Lago semantics:
 * every non-recurring value is a level; a recurring value R repeats after the highest non-recurring level L
 * (or after 0 when there is none): L + R, L + 2R, ...
 */
export interface LevelLadder {
  /** Non-recurring levels, ascending, deduplicated (decimal strings > 0). */
  levels: string[];
  /** The recurring step (decimal string > 0), or null. */
  recurringStep: string | null;
}

/** A ladder from raw threshold values; values <= 0 are dropped, the first recurring value is the step. */
export function ladderOf(thresholds: { value: string; recurring: boolean }[]): LevelLadder {
  const fixed = thresholds
    .filter((t) => !t.recurring && dec(t.value).gt(0))
    .map((t) => dec(t.value))
    .sort((a, b) => a.comparedTo(b));
  const levels: string[] = [];
  for (const v of fixed) if (levels.length === 0 || !dec(levels[levels.length - 1]!).eq(v)) levels.push(str(v));
  const step = thresholds.find((t) => t.recurring && dec(t.value).gt(0));
  return { levels, recurringStep: step ? str(dec(step.value)) : null };
}

/** Levels L with from < L <= to, ascending, at most `limit` of them (the highest ones are kept). */
export function levelsCrossed(ladder: LevelLadder, from: string, to: string, limit = 100): string[] {
  const lo = dec(from);
  const hi = dec(to);
  if (!hi.gt(lo)) return [];
  const out = ladder.levels.filter((l) => dec(l).gt(lo) && dec(l).lte(hi));
  if (ladder.recurringStep !== null) {
    const base = ladder.levels.length > 0 ? dec(ladder.levels[ladder.levels.length - 1]!) : dec(0);
    const step = dec(ladder.recurringStep);
    const lastK = hi.minus(base).div(step).floor();
    const firstK = lo.gte(base) ? lo.minus(base).div(step).floor().plus(1) : dec(1);
    if (lastK.gte(firstK)) {
      const startK = lastK.minus(limit - 1).gt(firstK) ? lastK.minus(limit - 1) : firstK;
      for (let k = startK; k.lte(lastK); k = k.plus(1)) out.push(str(base.plus(step.times(k))));
    }
  }
  return out.slice(-limit);
}

/** True when some level L has from < L <= to (the cheap check the workflow runs on every usage signal). */
export function crossesLevel(ladder: LevelLadder, from: string, to: string): boolean {
  return levelsCrossed(ladder, from, to, 1).length > 0;
}

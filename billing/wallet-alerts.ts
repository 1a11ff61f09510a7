// Lago's wallet alerts (credits consumption alerts), the pure rule: which threshold levels a balance change
// crossed. Thresholds are DECREASING (each lower than the one before, Lago's rule), at most one recurring; a level
// is crossed when the balance goes from above it to at or below it (previous > level ≥ current). A recurring
// threshold of value r adds the levels L − r, L − 2r, … below the lowest fixed level L (the multiples of r when
// there is none), so an alert keeps firing while the balance keeps dropping; one drop records only the lowest
// recurring level it crossed. A rise never triggers; a rise above a
// level re-arms it (the next drop crosses it again). Values are decimal strings: minor units for the amount
// types, credits for the credits types. No rounding here (exact decimal comparisons).
import { D, dec, str, type Dec } from './money';

export type WalletAlertType = 'wallet_balance_amount' | 'wallet_credits_balance' | 'wallet_ongoing_balance_amount' | 'wallet_credits_ongoing_balance';
export const WALLET_ALERT_TYPES: readonly WalletAlertType[] = ['wallet_balance_amount', 'wallet_credits_balance', 'wallet_ongoing_balance_amount', 'wallet_credits_ongoing_balance'];
/** Lago: up to 20 thresholds per alert, plus an optional recurring one. */
export const MAX_WALLET_ALERT_THRESHOLDS = 20;

export interface WalletAlertThreshold {
  code: string | null;
  value: string;
  recurring: boolean;
}

export interface CrossedLevel {
  code: string | null;
  value: string;
  recurring: boolean;
}

/** Why a threshold list is refused (field error code), or null when it is valid. */
export function walletThresholdsError(thresholds: WalletAlertThreshold[]): string | null {
  if (thresholds.length === 0) return 'value_is_mandatory';
  const recurring = thresholds.filter((t) => t.recurring);
  if (recurring.length > 1) return 'only_one_recurring_threshold';
  const fixed = thresholds.filter((t) => !t.recurring);
  if (fixed.length > MAX_WALLET_ALERT_THRESHOLDS) return 'too_many_thresholds';
  for (const t of thresholds) if (dec(t.value).isNegative()) return 'value_is_invalid';
  if (recurring[0] && dec(recurring[0].value).isZero()) return 'value_is_invalid';
  for (let i = 1; i < fixed.length; i++) if (!dec(fixed[i]!.value).lt(dec(fixed[i - 1]!.value))) return 'thresholds_must_be_decreasing';
  return null;
}

/** Levels crossed by a move from `previous` to `current`, highest first (empty when the balance did not drop). */
export function crossedWalletLevels(thresholds: WalletAlertThreshold[], previous: string, current: string): CrossedLevel[] {
  const prev = dec(previous);
  const cur = dec(current);
  if (!cur.lt(prev)) return [];
  const crossed = (level: Dec) => prev.gt(level) && cur.lte(level);
  const out: CrossedLevel[] = [];
  const fixed = thresholds.filter((t) => !t.recurring);
  for (const t of fixed) if (crossed(dec(t.value))) out.push({ code: t.code, value: str(dec(t.value)), recurring: false });
  const rec = thresholds.find((t) => t.recurring);
  if (rec) {
    // One record per drop for the recurring threshold: its lowest level crossed (levels L − k·step, k ≥ 1, below
    // the lowest fixed level L; without fixed levels, the multiples k·step, k ≥ 1), so a long drop is one trigger.
    const step = dec(rec.value);
    const lowest = fixed.length > 0 ? dec(fixed[fixed.length - 1]!.value) : null;
    const level =
      lowest !== null
        ? lowest.minus(step.times(lowest.minus(cur).div(step).floor()))
        : step.times(D.max(1, cur.div(step).ceil()));
    const isLevel = lowest === null || lowest.minus(cur).div(step).floor().gte(1);
    if (isLevel && crossed(level)) out.push({ code: rec.code, value: str(level), recurring: true });
  }
  return out;
}

// `fixed_charges` inside Lago's `plan_overrides` (fixed11, issue 11; POST /subscriptions, PUT /subscriptions/:id and a
// plan change with overrides), on top of the per-subscription child plan of api/services/plan-overrides.ts.
//
// Lago's rule (OpenAPI PlanOverridesObject.fixed_charges): entries name the plan's fixed charge by `id`.
// - UNITS-ONLY form: `plan_overrides` has only `fixed_charges` and every entry only `id`, `units` and optionally
//   `apply_units_immediately` → a per-subscription units override, NO plan override (no child plan): recorded on the
//   subscription's units timeline exactly as PUT /subscriptions/:id/fixed_charges/:code records it (immediately →
//   from the subscription's now, its test clock's time when it has one; else from its next billing period's start);
//   on a subscription being created, from its start (`subscription_at`).
// - FULL form (any other field or key): the child plan gets its OWN fixed charges = the parent plan's, each with its
//   overridden `invoice_display_name`, `properties`, `tax_codes` and `units` (units then are the child's plan-level
//   units: in force over the whole current period, like every other overridden field of the child;
//   `apply_units_immediately` is honoured by the units-only form). The merged child is validated by POST /plans's
//   rules (errors `plan_overrides.fixed_charges[i].…`, i = the fixed charge's position in the plan). The stored
//   override keeps the fixed-charge fields by fixed charge CODE (`fixedCharges`), so a later override or a cascade
//   re-derives them from the parent. When the child first gets its own fixed charges, the subscription's units
//   timeline is copied onto them (same code), except for the fixed charges whose units this override sets.
// - An unknown id is 422 `plan_overrides.fixed_charges[i].id: value_is_invalid`; bad units `…units: value_is_invalid`.
// Without fixed-charge overrides a child keeps billing its parent's fixed charges (db/repositories/fixed-charges.ts
// effectiveFixedCharges), as before.
import type { Knex } from 'knex';
import { unitsString } from '../../billing/fixed-charges';
import type { Interval } from '../../billing/types';
import { copySubscriptionUnits, effectiveFixedCharges, fixedChargesOfPlan, setSubscriptionUnits, type FixedChargeRecord } from '../../db/repositories/fixed-charges';
import type { PlanRecord } from '../../db/repositories/plans';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { addDetail } from '../errors';
import { storedFixedChargeInput } from '../routes/fixed-charges';
import { nextPeriodStart } from './plan-fixed-charge-units';
import type { PlanOverrides } from '../schemas/plan-overrides';
import { subscriptionNow } from './subscription-now';

type Db = Knex | Knex.Transaction;
type Entry = NonNullable<PlanOverrides['fixed_charges']>[number];
const FULL_FIELDS = ['invoice_display_name', 'properties', 'tax_codes'] as const;

/** A units override of the units-only form, by fixed charge code. */
export interface FixedChargeUnitsOverride {
  code: string;
  units: string;
  applyImmediately: boolean;
}

export interface PreparedFixedChargeOverrides {
  /** The overridden fields by fixed charge code (merged into the stored override when a child plan is written). */
  fields: Record<string, Record<string, unknown>>;
  /** Units-only form: the units to record on the subscription's timeline (no child plan written). */
  unitsOnly: FixedChargeUnitsOverride[] | null;
}

/** Validates `input.fixed_charges` against the plan's fixed charges (details filled, nothing thrown). */
export async function prepareFixedChargeOverrides(
  db: Db,
  organizationId: string,
  parent: PlanRecord,
  child: PlanRecord | null,
  input: PlanOverrides,
  details: Record<string, string[]>,
): Promise<PreparedFixedChargeOverrides> {
  const entries = input.fixed_charges ?? [];
  if (entries.length === 0) return { fields: {}, unitsOnly: null };
  const known = [...(await fixedChargesOfPlan(db, organizationId, parent.id)), ...(child ? await fixedChargesOfPlan(db, organizationId, child.id) : [])];
  const codeOf = new Map(known.map((f) => [f.id, f.code]));
  const fields: Record<string, Record<string, unknown>> = {};
  const units: FixedChargeUnitsOverride[] = [];
  for (const [i, e] of entries.entries()) {
    const code = codeOf.get(e.id);
    if (!code) {
      addDetail(details, `plan_overrides.fixed_charges[${i}].id`, 'value_is_invalid');
      continue;
    }
    const f: Record<string, unknown> = {};
    for (const k of FULL_FIELDS) if (e[k] !== undefined) f[k] = e[k];
    if (e.units !== undefined) {
      try {
        const u = unitsString(e.units);
        f.units = u;
        units.push({ code, units: u, applyImmediately: e.apply_units_immediately === true });
      } catch {
        addDetail(details, `plan_overrides.fixed_charges[${i}].units`, 'value_is_invalid');
      }
    }
    fields[code] = { ...(fields[code] ?? {}), ...f };
  }
  // The fields are kept for both forms: a plan change with overrides writes the child plan whatever the form (its
  // fixed charges start with the new plan, so plan-level units are exact there); POST / PUT of a subscription with
  // the units-only form write no child (plan-overrides.ts writeOverride) and record `unitsOnly` instead.
  return { fields, unitsOnly: isUnitsOnly(input, entries) ? units : null };
}

/** Lago's units-only form: only `fixed_charges`, each entry only id / units / apply_units_immediately. */
function isUnitsOnly(input: PlanOverrides, entries: Entry[]): boolean {
  const otherKeys = Object.entries(input).some(([k, v]) => k !== 'fixed_charges' && v !== undefined);
  return !otherKeys && entries.every((e) => FULL_FIELDS.every((k) => e[k] === undefined));
}

/**
 * The child's `fixed_charges` in Lago's plan input (for planBodyValidator): the parent's fixed charges with the stored
 * fields merged by code; undefined when nothing of them is overridden (the child then bills its parent's).
 */
export async function fixedChargesBody(db: Db, organizationId: string, parentId: string, stored: Record<string, Record<string, unknown>> | undefined): Promise<Record<string, unknown>[] | undefined> {
  if (!stored || Object.keys(stored).length === 0) return undefined;
  return (await fixedChargesOfPlan(db, organizationId, parentId)).map((f) => ({ ...storedFixedChargeInput(f), ...(stored[f.code] ?? {}) }));
}

/**
 * After the override is written in `trx` (the subscription now on `planId`): the units-only form's units recorded on
 * the subscription's timeline, or (full form, the child's first own fixed charges) the timeline copied onto them.
 */
export async function writeFixedChargeOverrides(
  trx: Knex.Transaction,
  organizationId: string,
  subscriptionId: string,
  o: { unitsOnly: FixedChargeUnitsOverride[] | null; fields: Record<string, Record<string, unknown>>; parentId: string; childHadOwn: boolean; fromStart: boolean },
): Promise<void> {
  const [s] = await getSubscriptionsByIds(trx, organizationId, [subscriptionId]);
  if (!s) return;
  const list = await effectiveFixedCharges(trx, organizationId, s.planId);
  const idOf = new Map(list.map((f) => [f.code, f.id]));
  if (o.unitsOnly) {
    if (o.unitsOnly.length === 0) return;
    const now = (await subscriptionNow(trx, s, new Date())).toISOString();
    const start = s.subscriptionAt.toISOString();
    const pending = o.fromStart || Date.parse(now) < Date.parse(start);
    for (const u of o.unitsOnly) {
      const id = idOf.get(u.code);
      if (!id) continue;
      const at = pending ? start : u.applyImmediately ? now : await nextPeriodStart(trx, s, s.planInterval as Interval, now);
      await setSubscriptionUnits(trx, organizationId, subscriptionId, id, u.units, at);
    }
    return;
  }
  if (o.childHadOwn || Object.keys(o.fields).length === 0) return;
  // The child's first own fixed charges: the subscription's units timeline follows them (same code), except where this
  // override set the units (the child's plan-level units then rule).
  const parentCode = new Map((await fixedChargesOfPlan(trx, organizationId, o.parentId)).map((f) => [f.id, f.code]));
  const target = new Map<string, string>();
  for (const [pid, code] of parentCode) {
    const to = idOf.get(code);
    if (to && to !== pid && o.fields[code]?.units === undefined) target.set(pid, to);
  }
  await copySubscriptionUnits(trx, organizationId, subscriptionId, target);
}

/** The stored fixed-charge fields merged with a new override's (by code, field by field). */
export function mergeFixedChargeFields(stored: Record<string, Record<string, unknown>> | undefined, add: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = { ...(stored ?? {}) };
  for (const [code, f] of Object.entries(add)) out[code] = { ...(out[code] ?? {}), ...f };
  return out;
}

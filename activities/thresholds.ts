// Usage thresholds (progressive billing) and usage alerts: the activities behind the subscription workflow's
// real-time checks (workflows/subscription.ts). The workflow only ESTIMATES from its live usage signals; every
// action is decided here, from Postgres, so a lost or repeated signal can neither skip nor double it.
//
// Confirmed usage (evaluateUsageThresholds): exactly what GET current_usage shows — both call
// usage/open-period.ts priceOpenPeriodUsage: the plan's charges — pay-in-advance ones priced on the period
// total — over the open period read from the rollups, priced by billing/ratePeriod (kind 'preview', no
// subscription fee); amount = Σ rounded charge lines (minor units).
//
// Progressive billing (the plan's usage_thresholds, Lago semantics: each non-recurring amount_cents is a level;
// a recurring one repeats after the highest non-recurring level). Lago measures thresholds on the
// subscription's LIFETIME usage; Meterline measures them on the open period's usage (the issue's rule), so a
// period starts from zero. When the confirmed amount reaches a level above the highest level already invoiced
// in the period, ONE progressive_billing invoice is issued for the highest level reached (several levels
// crossed at once give one invoice, like Lago). It covers [period start, now) — the in-arrears charges, no
// subscription fee — minus what the period's earlier progressive invoices billed (progressive_billing_credit
// line), rated by activities/invoices.ts rateInvoiceDraft, exactly as it is rated again at finalization
// (usage/period-usage.ts ledgerUsage + billing/ratePeriod). Unique per (subscription, period start, threshold level): see db/repositories/thresholds.ts.
// Its invoice workflow has no grace period (gracePeriodDays 0): it is issued at once. No progressive invoice
// is issued once the period has ended or has its final (subscription / termination) invoice. The final invoice deducts the
// sum of the period's progressive invoices (activities/invoices.ts rateInvoiceDraft → progressiveBilledAmountCents).
//
// Alerts (db/repositories/alerts.ts): every crossed threshold level of an alert is recorded once per period
// (usage_alert_triggers, webhook_status 'pending'); at most MAX_TRIGGERS_PER_EVALUATION levels per alert and
// evaluation (a recurring threshold crossed many times at once records the highest ones).
// Values: current_usage_amount = the confirmed amount (minor units); billable_metric_current_usage_amount = Σ
// charge lines of the metric; billable_metric_current_usage_units = the units of the first charge on that metric
// (0 when the plan has no charge on it: usage is only read for charged metrics).
//
// Concurrency: one transaction per evaluation holding a per-subscription advisory lock; the unique indexes
// back it. Repeating an evaluation (a retried activity, two workflow checks, a concurrent call) changes nothing.
import type { Knex } from 'knex';
import { BillingError } from '../billing/errors';
import { decimalStringsEqual, sumDecimalStrings } from '../billing/money';
import type { Period, Plan } from '../billing/types';
import { highestTriggeredValue, listAlerts, markAlertProcessed, recordAlertTriggers, type AlertRecord, type NewAlertTrigger } from '../db/repositories/alerts';
import { replaceDraftFees } from '../db/repositories/invoices';
import { withInvoiceTaxes } from './taxes';
import { loadPlan } from '../db/repositories/plans';
import { loadSubscriptionBillingContext, type SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import {
  claimProgressiveInvoice,
  lockSubscriptionThresholds,
  periodHasFinalInvoice,
  progressiveInvoicesOfPeriod,
  type ProgressiveInvoiceRow,
} from '../db/repositories/thresholds';
import { priceOpenPeriodUsage } from '../usage/open-period';
import { announceUsageThresholdReached } from '../db/repositories/subscription-webhooks';
import { ladderOf, levelsCrossed, type LevelLadder } from '../billing/threshold-ladder';
import type { LiveMetricUsage } from '../contracts/workflows';
import { classified, invoiceCurrency, rateInvoiceDraft } from './invoices';
import { afterUsageCheck, watchWallets } from './wallets';
import { subscriptionCustomerHasActiveWallet } from '../db/repositories/wallet-subscriptions';
import type {
  BillingRules,
  BillingRulesInput,
  EvaluateThresholdsInput,
  EvaluateThresholdsResult,
  PeriodInvoiceResult,
  SubscriptionActivities,
} from './types';

export const MAX_TRIGGERS_PER_EVALUATION = 100;

type Db = Knex | Knex.Transaction;

export function progressiveLadder(plan: Plan): LevelLadder | null {
  if (plan.usageThresholds.length === 0) return null;
  return ladderOf(plan.usageThresholds.map((t) => ({ value: String(t.amountCents), recurring: t.recurring })));
}

/** The rules the workflow watches, from the plan and the subscription's alerts. */
export function billingRulesOf(plan: Plan, alerts: AlertRecord[]): BillingRules {
  const amountLadders: LevelLadder[] = [];
  const progressive = progressiveLadder(plan);
  if (progressive) amountLadders.push(progressive);
  const unitLadders: Record<string, LevelLadder[]> = {};
  let periodicOnly = false;
  for (const a of alerts) {
    const ladder = ladderOf(a.thresholds);
    if (a.alertType === 'current_usage_amount') amountLadders.push(ladder);
    else if (a.alertType === 'billable_metric_current_usage_units' && a.billableMetricCode !== null) {
      (unitLadders[a.billableMetricCode] ??= []).push(ladder);
    } else periodicOnly = true;
  }
  return {
    active: amountLadders.length > 0 || Object.keys(unitLadders).length > 0 || periodicOnly,
    amountLadders,
    unitLadders,
    periodicOnly,
    plan: amountLadders.length > 0 ? plan : null,
    countMetricCodes: [...new Set(plan.charges.filter((c) => c.billableMetric.aggregationType === 'count_agg').map((c) => c.billableMetric.code))],
  };
}

interface ConfirmedUsage {
  amountCents: number;
  amountByMetric: Map<string, number>;
  metrics: Record<string, LiveMetricUsage>;
}

/** The period's current usage, as GET current_usage computes it (see the header). */
async function confirmedUsage(db: Db, ctx: SubscriptionBillingContext, plan: Plan, period: Period, fullPeriod: Period): Promise<ConfirmedUsage> {
  const { charges, usage, chargeFees, usageAmountCents: amountCents } = await priceOpenPeriodUsage(db, ctx, plan, period, fullPeriod);
  const amountByMetric = new Map<string, number>();
  for (const f of chargeFees) {
    if (f.metricCode !== null) amountByMetric.set(f.metricCode, (amountByMetric.get(f.metricCode) ?? 0) + f.amountCents);
  }
  const metrics: Record<string, LiveMetricUsage> = {};
  for (const c of charges) {
    const code = c.billableMetric.code;
    if (metrics[code]) continue; // the first charge on a metric speaks for it
    const u = usage.find((x) => x.chargeId === c.id);
    const buckets = u?.buckets ?? [];
    const eventsCount = buckets.reduce((n, b) => n + b.eventsCount, 0);
    metrics[code] = { eventsCount, units: sumDecimalStrings(buckets.map((b) => b.units)) };
  }
  return { amountCents, amountByMetric, metrics };
}

/** Issues the progressive invoice of the highest level reached above those already invoiced; null when none. */
async function issueProgressiveInvoice(
  trx: Knex.Transaction,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  input: EvaluateThresholdsInput,
  amountCents: number,
  asOfMs: number,
  existing: ProgressiveInvoiceRow[],
): Promise<string | null> {
  const ladder = progressiveLadder(plan);
  // Only while the period is open: after its end the final invoice bills everything (and deducts only progressive
  // invoices that end before the period end).
  if (!ladder || asOfMs <= Date.parse(input.period.start) || asOfMs >= Date.parse(input.period.end)) return null;
  const invoicedUpTo = existing.reduce((m, i) => Math.max(m, i.thresholdAmountCents), 0);
  const crossed = levelsCrossed(ladder, String(invoicedUpTo), String(amountCents), 1);
  if (crossed.length === 0) return null;
  if (await periodHasFinalInvoice(trx, ctx.organizationId, ctx.subscriptionId, input.period.start)) return null;
  const level = Number(crossed[0]);
  if (!Number.isSafeInteger(level)) throw new BillingError('amount_out_of_range', `Threshold level ${crossed[0]} is not a safe integer`);

  const period: Period = { start: input.period.start, end: new Date(asOfMs).toISOString() };
  const invoice = await claimProgressiveInvoice(trx, {
    organizationId: ctx.organizationId,
    subscriptionId: ctx.subscriptionId,
    customerId: ctx.customerId,
    currency: invoiceCurrency(ctx, plan),
    period,
    fullPeriod: input.fullPeriod,
    thresholdAmountCents: level,
  });
  // The crossing is recorded by this claim: subscription.usage_threshold_reached commits with it, once.
  if (invoice.created) await announceUsageThresholdReached(trx, ctx.organizationId, invoice.id);
  if (invoice.status !== 'draft') return invoice.id;
  // Rated exactly like activities/invoices.ts rates it again at finalization (the same function), then taxed.
  const draft = await rateInvoiceDraft(trx, ctx, plan, 'progressive_billing', invoice.period, invoice.fullPeriod ?? input.fullPeriod);
  await replaceDraftFees(trx, invoice, await withInvoiceTaxes(trx, ctx, plan, draft, invoice.period));
  return invoice.created ? invoice.id : null;
}

function alertValue(alert: AlertRecord, usage: ConfirmedUsage): string {
  switch (alert.alertType) {
    case 'current_usage_amount':
      return String(usage.amountCents);
    case 'billable_metric_current_usage_amount':
      return String(usage.amountByMetric.get(alert.billableMetricCode ?? '') ?? 0);
    case 'billable_metric_current_usage_units':
      return usage.metrics[alert.billableMetricCode ?? '']?.units ?? '0';
    default: {
      const never: never = alert.alertType;
      throw new BillingError('invalid_alert_type', `Unknown alert type ${String(never)}`, 'alert_type');
    }
  }
}

/** Records the alert's newly crossed levels in the period; returns how many rows were new. */
async function recordAlert(trx: Knex.Transaction, alert: AlertRecord, input: EvaluateThresholdsInput, usage: ConfirmedUsage, at: Date): Promise<number> {
  const value = alertValue(alert, usage);
  const ladder = ladderOf(alert.thresholds);
  const from = (await highestTriggeredValue(trx, alert.organizationId, alert.id, input.period.start)) ?? '0';
  const crossed = levelsCrossed(ladder, from, value, MAX_TRIGGERS_PER_EVALUATION);
  const recurring = alert.thresholds.find((t) => t.recurring) ?? null;
  const triggers: NewAlertTrigger[] = crossed.map((level) => {
    const fixed = alert.thresholds.find((t) => !t.recurring && decimalStringsEqual(t.value, level));
    const source = fixed ?? recurring;
    return {
      organizationId: alert.organizationId,
      alertId: alert.id,
      subscriptionId: alert.subscriptionId,
      period: input.period,
      thresholdCode: source?.code ?? null,
      thresholdValue: level,
      thresholdRecurring: fixed === undefined,
      crossedValue: value,
      triggeredAt: at,
    };
  });
  const recorded = await recordAlertTriggers(trx, triggers);
  await markAlertProcessed(trx, alert.organizationId, alert.id, value, at);
  return recorded;
}

export function createThresholdActivities(deps: { db: Knex }): Pick<SubscriptionActivities, 'loadBillingRules' | 'evaluateUsageThresholds'> {
  const { db } = deps;
  return {
    async loadBillingRules(input: BillingRulesInput): Promise<BillingRules> {
      return classified(async () => {
        const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
        const [plan, alerts] = await Promise.all([loadPlan(db, input.organizationId, ctx.planId), listAlerts(db, input.organizationId, input.subscriptionId)]);
        return watchWallets(billingRulesOf(plan, alerts), await subscriptionCustomerHasActiveWallet(db, input.organizationId, input.subscriptionId));
      });
    },

    async evaluateUsageThresholds(input: EvaluateThresholdsInput): Promise<EvaluateThresholdsResult> {
      // Wallets (issue 12): after the check commits, the customer's ongoing balances are confirmed (activities/wallets.ts).
      return classified(async () => afterUsageCheck(db, input, await
        db.transaction(async (trx) => {
          await lockSubscriptionThresholds(trx, input.subscriptionId);
          const ctx = await loadSubscriptionBillingContext(trx, input.organizationId, input.subscriptionId);
          const plan = await loadPlan(trx, input.organizationId, ctx.planId);
          const alerts = await listAlerts(trx, input.organizationId, input.subscriptionId);
          // A test clock's check comes with its instant (the clock's time), a real-time one is made now.
          const now = input.asOf !== undefined ? new Date(input.asOf) : new Date();
          const asOfMs = Math.min(now.getTime(), Date.parse(input.period.end));
          const usage = await confirmedUsage(trx, ctx, plan, input.period, input.fullPeriod);

          const before = await progressiveInvoicesOfPeriod(trx, input.organizationId, input.subscriptionId, input.period.start);
          const createdId = await issueProgressiveInvoice(trx, ctx, plan, input, usage.amountCents, asOfMs, before);
          const invoices = createdId === null ? before : await progressiveInvoicesOfPeriod(trx, input.organizationId, input.subscriptionId, input.period.start);

          let alertTriggersRecorded = 0;
          for (const alert of alerts) alertTriggersRecorded += await recordAlert(trx, alert, input, usage, now);

          return {
            asOf: new Date(asOfMs).toISOString(),
            amountCents: usage.amountCents,
            metrics: usage.metrics,
            progressiveInvoices: invoices.map(
              (i): PeriodInvoiceResult => ({
                invoiceId: i.id,
                status: i.status,
                totalAmountCents: i.totalAmountCents,
                currency: i.currency,
                created: i.id === createdId,
                // Issued at once: progressive invoices have no grace period.
                gracePeriodDays: 0,
              }),
            ),
            alertTriggersRecorded,
            rules: watchWallets(billingRulesOf(plan, alerts), await subscriptionCustomerHasActiveWallet(trx, input.organizationId, input.subscriptionId)),
          };
        })),
      );
    },
  };
}

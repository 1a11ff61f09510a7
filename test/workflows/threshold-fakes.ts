// Fakes of the usage-threshold activities shared by thresholds.test.ts and record-histories.ts.
//
// postgresLikeEvaluation plays Postgres: it answers from `db.amountCents` (what the events in the database are
// worth), whatever the workflow's live totals say, and lists one progressive invoice per subscription once that
// amount reached 1000 cents (the same invoice every time: the real activity is idempotent per subscription,
// period and threshold). THRESHOLD_PLAN: tokens (sum_agg) at 0.01 USD = 1 cent each, usage_thresholds
// [{amount_cents: 1000}].
import type { BillingRules, EvaluateThresholdsResult } from '../../activities/types';
import type { Plan } from '../../billing/types';

export const THRESHOLD_PLAN: Plan = {
  code: 'ai',
  name: 'AI',
  interval: 'monthly',
  amountCents: 0,
  amountCurrency: 'USD',
  payInAdvance: false,
  trialPeriodDays: 0,
  minimumCommitmentAmountCents: 0,
  usageThresholds: [{ amountCents: 1000, recurring: false, thresholdDisplayName: null }],
  charges: [
    {
      id: 'charge-tokens',
      billableMetric: { code: 'tokens', name: 'Tokens', aggregationType: 'sum_agg', fieldName: 'tokens', recurring: false, filters: [] },
      chargeModel: 'standard',
      payInAdvance: false,
      invoiceable: true,
      prorated: false,
      minAmountCents: 0,
      invoiceDisplayName: null,
      properties: { amount: '0.01' },
      filters: [],
    },
  ],
};

export const THRESHOLD_RULES: BillingRules = {
  active: true,
  amountLadders: [{ levels: ['1000'], recurringStep: null }],
  unitLadders: {},
  periodicOnly: false,
  plan: THRESHOLD_PLAN,
  countMetricCodes: [],
};

/** The fake evaluateUsageThresholds described in the header. */
export function postgresLikeEvaluation(db: { amountCents: number }) {
  return (_index: number, input: { subscriptionId: string; period: { start: string } }): EvaluateThresholdsResult => ({
    asOf: input.period.start,
    amountCents: db.amountCents,
    metrics: { tokens: { eventsCount: 1, units: String(db.amountCents) } },
    progressiveInvoices:
      db.amountCents >= 1000
        ? [{ invoiceId: `prog-${input.subscriptionId}`, status: 'draft', totalAmountCents: db.amountCents, currency: 'USD', created: false, gracePeriodDays: 0 }]
        : [],
    alertTriggersRecorded: 0,
    rules: THRESHOLD_RULES,
  });
}

import type { BillableMetric, Charge, ChargeModel, ChargeProperties, Plan } from '../../billing';
import type { UsageBucket } from '../../billing';

export function metric(over: Partial<BillableMetric> = {}): BillableMetric {
  return { code: 'm', name: 'Metric', aggregationType: 'sum_agg', fieldName: 'value', recurring: false, filters: [], ...over };
}

export function charge(chargeModel: ChargeModel, properties: ChargeProperties, over: Partial<Charge> = {}): Charge {
  return {
    id: 'c1',
    billableMetric: metric(),
    chargeModel,
    payInAdvance: false,
    invoiceable: true,
    prorated: false,
    minAmountCents: 0,
    invoiceDisplayName: null,
    properties,
    filters: [],
    ...over,
  };
}

export function bucket(units: string, eventsCount = 1, eventValues?: string[]): UsageBucket {
  const b: UsageBucket = { filterIndex: null, groupedBy: {}, units, eventsCount };
  if (eventValues) b.eventValues = eventValues.map((u) => ({ units: u }));
  return b;
}

export function plan(charges: Charge[], over: Partial<Plan> = {}): Plan {
  return {
    code: 'plan',
    name: 'Plan',
    interval: 'monthly',
    amountCents: 0,
    amountCurrency: 'USD',
    payInAdvance: false,
    trialPeriodDays: 0,
    minimumCommitmentAmountCents: 0,
    charges,
    usageThresholds: [],
    ...over,
  };
}

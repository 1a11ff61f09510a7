// One-off invoices (Lago Invoices::CreateOneOffService): add-on fees sold once, outside any subscription.
// A line = units × unit amount (the add-on's amount_cents unless overridden), rounded once with R1 (half-up to the
// currency's minor unit: 2.5 units × 333 cents = 832.5 → 833). Taxes: the line's own tax_codes, else the add-on's,
// else the customer's / organization's (billing/tax precedence, levels `add_on` and below); each line gets a tax
// key (`addOnId`) so lines of one add-on with different tax_codes stay apart.
import { currencyExponent } from './currency';
import { BillingError } from './errors';
import type { Fee, InvoiceDraft } from './invoice';
import { D, dec, roundDecToMinorUnits, str } from './money';

export interface AddOnLine {
  addOnId: string;
  /** Tax key of the line (the add-on id, or a per-line key when the line has its own tax_codes). */
  taxKey: string;
  name: string;
  description: string | null;
  /** Decimal string, > 0. */
  units: string;
  unitAmountCents: number;
  fromDatetime: string;
  toDatetime: string;
}

/** `addOnId` is the line's tax key (billing/tax reads it); `addOnRecordId` the add-on itself. */
export type AddOnFee = Fee & { addOnId: string; addOnRecordId: string; description: string | null };

/** The draft of a one-off invoice: one `add_on` fee per line (R1 once per line), totals as sums. */
export function buildOneOffDraft(currency: string, lines: AddOnLine[]): InvoiceDraft & { fees: AddOnFee[] } {
  const exp = currencyExponent(currency);
  const fees: AddOnFee[] = lines.map((l, i) => {
    const units = dec(l.units, `fees[${i}].units`);
    if (!units.isPositive()) throw new BillingError('invalid_amount', 'units must be positive', `fees[${i}].units`);
    if (!Number.isSafeInteger(l.unitAmountCents) || l.unitAmountCents < 0) throw new BillingError('invalid_amount', 'unit_amount_cents must be a non-negative integer', `fees[${i}].unit_amount_cents`);
    const unitAmount = new D(l.unitAmountCents).div(new D(10).pow(exp));
    const precise = units.times(unitAmount);
    return {
      kind: 'add_on',
      chargeId: null,
      metricCode: null,
      filterIndex: null,
      filterValues: null,
      groupedBy: {},
      displayName: l.name,
      units: str(units),
      eventsCount: 0,
      unitAmount: str(unitAmount),
      preciseAmount: str(precise),
      amountCents: roundDecToMinorUnits(precise, currency),
      currency,
      fromDatetime: l.fromDatetime,
      toDatetime: l.toDatetime,
      prorationRatio: null,
      addOnId: l.taxKey,
      addOnRecordId: l.addOnId,
      description: l.description,
    };
  });
  const total = fees.reduce((a, f) => a + f.amountCents, 0);
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'One-off invoice total is not a safe integer');
  return { currency, fees, feesAmountCents: total, totalAmountCents: total };
}

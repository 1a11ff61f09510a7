// One-off invoices (Lago POST /invoices): add-on fees sold once to a customer, taxed, numbered and payable like any
// invoice, in ONE transaction: the fees (billing/one-off.ts), the taxes step (billing/tax, the line's tax_codes >
// the add-on's > the customer's > the organization's), the customer's credit-note balances (activities/credits.ts),
// then the number (db/repositories/invoices.ts finalizeLockedInvoice, which also queues invoice.created).
// Payment collection then runs in the invoice's own workflow `invoice:<id>` (started by the API with no grace
// period: its finalize step finds the invoice finalized and goes on to collection and dunning).
import type { Knex } from 'knex';
import { BillingError } from '../billing/errors';
import { buildOneOffDraft, type AddOnLine } from '../billing/one-off';
import { taxInvoiceDraft, type Tax } from '../billing/tax';
import { getAddOnsByCodes } from '../db/repositories/add-ons';
import { assignCustomerCurrencyIfUnset, type CustomerRecord } from '../db/repositories/customers';
import { insertOneOffDraft } from '../db/repositories/invoice-credits';
import { finalizeLockedInvoice, replaceDraftFees, type LockedInvoice } from '../db/repositories/invoices';
import { organizationDefaultTaxes, taxesOf, toBillingTax, type TaxRecord } from '../db/repositories/taxes';
import { settleCreditsAtFinalization } from './credits';

export interface OneOffFeeInput {
  addOnCode: string;
  invoiceDisplayName?: string;
  unitAmountCents?: number | null;
  units?: string | null;
  description?: string | null;
  fromDatetime?: string;
  toDatetime?: string;
  /** Resolved tax objects of the line's tax_codes (undefined: none given). */
  taxes?: TaxRecord[];
}

export async function createOneOffInvoice(
  db: Knex,
  input: { organizationId: string; customer: CustomerRecord; currency?: string; fees: OneOffFeeInput[]; now: Date },
): Promise<LockedInvoice> {
  return db.transaction(async (trx) => {
    const { organizationId, customer } = input;
    const addOns = await getAddOnsByCodes(trx, organizationId, input.fees.map((f) => f.addOnCode));
    input.fees.forEach((f, i) => {
      if (!addOns.has(f.addOnCode)) throw new BillingError('add_on_not_found', `Add-on ${f.addOnCode} not found`, `fees[${i}].add_on_code`);
    });
    const currency = input.currency ?? customer.currency ?? addOns.get(input.fees[0]!.addOnCode)!.amountCurrency;
    if (customer.currency !== null && customer.currency !== currency) {
      throw new BillingError('currency_mismatch', `Invoice currency ${currency} differs from the customer's ${customer.currency}`, 'currency');
    }
    const nowIso = input.now.toISOString();
    const addOnTaxes: Record<string, Tax[]> = {};
    const lines: AddOnLine[] = input.fees.map((f, i) => {
      const a = addOns.get(f.addOnCode)!;
      const taxKey = f.taxes !== undefined ? `${a.id}:line:${i}` : a.id;
      addOnTaxes[taxKey] = (f.taxes ?? a.taxes).map(toBillingTax);
      return {
        addOnId: a.id,
        taxKey,
        name: f.invoiceDisplayName ?? a.invoiceDisplayName ?? a.name,
        description: f.description ?? a.description,
        units: f.units ?? '1',
        unitAmountCents: f.unitAmountCents ?? a.amountCents,
        fromDatetime: f.fromDatetime ?? nowIso,
        toDatetime: f.toDatetime ?? nowIso,
      };
    });
    const draft = buildOneOffDraft(currency, lines);
    const customerTaxes = (await taxesOf(trx, organizationId, 'customer', [customer.id])).get(customer.id) ?? [];
    const orgTaxes = await organizationDefaultTaxes(trx, organizationId);
    const taxed = taxInvoiceDraft(draft, {
      assignments: { addOnTaxes, customerTaxes: customerTaxes.map(toBillingTax), organizationTaxes: orgTaxes.map(toBillingTax) },
      decision: null,
    });
    await assignCustomerCurrencyIfUnset(trx, organizationId, customer.id, currency);
    const invoice = await insertOneOffDraft(trx, { organizationId, customerId: customer.id, currency, periodStart: input.now, periodEnd: input.now });
    const written = await replaceDraftFees(trx, invoice, taxed);
    const credited = await settleCreditsAtFinalization(trx, written);
    return finalizeLockedInvoice(trx, credited, { now: input.now });
  });
}

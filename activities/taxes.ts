// The taxes step of an invoice, for activities: loads what billing/tax needs from Postgres (the tax objects at each
// level of Lago's precedence; for a customer without taxes of its own, when the organization enabled them, the
// automatic rules' inputs) and runs the ONE pure step `taxInvoiceDraft`. The VAT number status is the customer's
// last VIES check (db column, recorded by adapters/vies/customer-check.ts when the API writes the customer); a number never checked counts as `unknown`
// (charged, never reverse-charged on an unverified number).
import type { InvoiceDraft } from '../billing/invoice';
import {
  decideTax,
  providerFeeAmountCents,
  providerTaxInvoiceDraft,
  taxInvoiceDraft,
  taxPointDate,
  type InvoiceTaxContext,
  type TaxedInvoiceDraft,
  type VatNumberStatus,
} from '../billing/tax';
import type { Period, Plan } from '../billing/types';
import { getCustomersByIds } from '../db/repositories/customers';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { getTaxSettings, getTaxSettingsAndConnection, loadTaxAssignments, ruleSettings, type TaxProviderConnection, type TaxSettingsRecord } from '../db/repositories/taxes';
import { AggregatorHttpTaxProvider } from '../adapters/tax-provider/aggregator-http';
import type { TaxProvider } from '../adapters/tax-provider/port';
import { BillingError } from '../billing/errors';
import { fixedChargeTaxes } from '../db/repositories/fixed-charges';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** `settings`: the organization's tax settings when the caller has already read them. */
export async function loadInvoiceTaxContext(db: Db, ctx: SubscriptionBillingContext, plan: Plan, period: Period, settings?: TaxSettingsRecord): Promise<InvoiceTaxContext> {
  const assignments = await loadTaxAssignments(db, ctx.organizationId, {
    customerId: ctx.customerId,
    planId: ctx.planId,
    chargeIds: plan.charges.map((c) => c.id),
  });
  // Automatic rules only for customers without explicit tax codes, and only when the organization turned them on.
  if ((assignments.customerTaxes ?? []).length > 0) return { assignments, decision: null };
  const rules = ruleSettings(settings ?? (await getTaxSettings(db, ctx.organizationId)));
  if (!rules) return { assignments, decision: null };
  const customer = (await getCustomersByIds(db, ctx.organizationId, [ctx.customerId])).get(ctx.customerId);
  if (!customer) return { assignments, decision: null };
  const vatNumberStatus: VatNumberStatus = !customer.taxIdentificationNumber ? 'absent' : (customer.vatNumberStatus ?? 'unknown');
  const decision = decideTax(
    rules,
    { country: customer.country, state: customer.state, customerType: customer.customerType, vatNumberStatus },
    taxPointDate(period, ctx.timezone),
  );
  return { assignments, decision };
}

/** The hook: an invoice draft (fees and totals) → the same draft with its taxes, applied taxes and new total. */
export async function withInvoiceTaxes(db: Db, ctx: SubscriptionBillingContext, plan: Plan, draft: InvoiceDraft, period: Period, settings?: TaxSettingsRecord): Promise<TaxedInvoiceDraft> {
  const context = await loadInvoiceTaxContext(db, ctx, plan, period, settings);
  // Fixed charges (fixed13): a fixed_charge fee carries its fixed charge's tax_codes at the charge level (before the plan's).
  const fixedIds = draft.fees.filter((f) => f.kind === 'fixed_charge' && f.chargeId !== null).map((f) => f.chargeId!);
  if (fixedIds.length > 0) context.assignments.chargeTaxes = { ...context.assignments.chargeTaxes, ...(await fixedChargeTaxes(db, ctx.organizationId, fixedIds)) };
  return taxInvoiceDraft(draft, context);
}

// ---------------------------------------------------------------------------------------------------------
// failed13 (issue 13): an external tax engine at finalization. When the organization turned one on
// (organization_tax_settings.tax_provider, PUT /tax_settings), the finalization's taxes come from it instead of
// Meterline's own tax objects / rules (Lago: a customer with a tax integration is taxed by the provider only). Drafts
// (creation, refresh during the grace period) keep the rules' taxes, as an estimate. Idempotency key
// `invoice:<id>:taxes` (taxesIdempotencyKey). The engine's errors are TaxProviderErrors, classified by the adapter: the activity retries a
// transient one; a permanent one fails the finalization (activities/invoices.ts marks the invoice `failed`).

/** Builds the engine of an organization's connection (default: httpTaxProvider; a seam for another transport). */
export type TaxProviderFactory = (connection: TaxProviderConnection) => TaxProvider;

export const httpTaxProvider: TaxProviderFactory = (c) => new AggregatorHttpTaxProvider({ provider: c.provider, apiUrl: c.apiUrl, apiKey: c.apiKey });

/**
 * The engine request's idempotency key: `invoice:<id>:taxes` for the first finalization; a retry of a failed invoice
 * is a new request (the customer's address changed since), keyed by the error detail it answers:
 * `invoice:<id>:taxes:retry:<error detail id>`. A re-run of the same attempt (an activity retry) sends the same key.
 */
export function taxesIdempotencyKey(invoiceId: string, retryOf: string | null = null): string {
  return retryOf === null ? `invoice:${invoiceId}:taxes` : `invoice:${invoiceId}:taxes:retry:${retryOf}`;
}

/** The finalization's taxes step: the organization's engine when it has one, else exactly withInvoiceTaxes. */
export async function withFinalizationTaxes(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  draft: InvoiceDraft,
  period: Period,
  attempt: { invoiceId: string; idempotencyKey: string },
  providerFor: TaxProviderFactory,
): Promise<TaxedInvoiceDraft> {
  const { settings, connection } = await getTaxSettingsAndConnection(db, ctx.organizationId);
  if (!connection) return withInvoiceTaxes(db, ctx, plan, draft, period, settings);
  const customer = (await getCustomersByIds(db, ctx.organizationId, [ctx.customerId])).get(ctx.customerId);
  if (!customer) throw new BillingError('customer_not_found', `Customer ${ctx.customerId} not found`, 'customer_id');
  const answer = await providerFor(connection).computeTaxes({
    idempotencyKey: attempt.idempotencyKey,
    invoiceId: attempt.invoiceId,
    currency: draft.currency,
    taxPointDate: taxPointDate(period, ctx.timezone),
    customer: {
      externalId: customer.externalId,
      name: customer.name,
      address: { country: customer.country ?? '', state: customer.state, zipcode: customer.zipcode },
      taxIdentificationNumber: customer.taxIdentificationNumber,
    },
    fees: draft.fees.map((f, i) => ({ itemKey: `fee_${i}`, itemCode: f.metricCode ?? f.kind, amountCents: providerFeeAmountCents(f) })),
  });
  return providerTaxInvoiceDraft(draft, answer);
}

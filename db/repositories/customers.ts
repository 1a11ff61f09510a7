// Customers: create-or-update by (organization_id, external_id), Lago's semantics.
import type { Knex } from 'knex';
import { nextOrganizationCounter } from './organizations';

export interface CustomerRecord {
  id: string;
  organizationId: string;
  sequentialId: number;
  externalId: string;
  name: string | null;
  email: string | null;
  currency: string | null;
  timezone: string | null;
  invoiceGracePeriod: number | null;
  /** Days from issuing to payment due; null = the organization's net_payment_term. */
  netPaymentTerm: number | null;
  country: string | null;
  taxIdentificationNumber: string | null;
  customerType: 'company' | 'individual' | null;
  state: string | null;
  zipcode: string | null;
  /** The VAT number's last VIES check: valid | invalid | unknown, null when never checked. */
  vatNumberStatus: 'valid' | 'invalid' | 'unknown' | null;
  billingConfiguration: Record<string, unknown>;
  /** billing_configuration.payment_provider ('stripe') and the linked provider customer. */
  paymentProvider: string | null;
  providerCustomerId: string | null;
  /** The billing entity the customer belongs to (its invoices' issuer); the organization's default when none given. */
  billingEntityCode: string;
  /** That entity's timezone (the default entity's is the organization's); undefined where the read did not load it. */
  billingEntityTimezone?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields to set; `undefined` leaves the stored value unchanged on update. */
export interface CustomerUpsert {
  externalId: string;
  name?: string | null;
  email?: string | null;
  currency?: string | null;
  timezone?: string | null;
  invoiceGracePeriod?: number | null;
  netPaymentTerm?: number | null;
  country?: string | null;
  taxIdentificationNumber?: string | null;
  customerType?: 'company' | 'individual' | null;
  state?: string | null;
  zipcode?: string | null;
  billingConfiguration?: Record<string, unknown>;
  paymentProvider?: string | null;
  providerCustomerId?: string | null;
  /**
   * An entity of the organization (the caller checked it exists). Lago 1.51: a new customer takes it; an existing one
   * only while it is editable (no subscription, invoice, wallet or fixed-amount coupon), otherwise it is ignored.
   */
  billingEntityCode?: string;
}

/** A column of a `customers` row read: its billing entity's timezone (toCustomer's billingEntityTimezone). */
export function billingEntityTimezoneColumn(db: Knex | Knex.Transaction): Knex.Raw {
  return db.raw('(SELECT bes.timezone FROM billing_entity_settings bes WHERE bes.organization_id = customers.organization_id AND bes.code = customers.billing_entity_code) AS billing_entity_timezone');
}

export function toCustomer(row: Record<string, any>): CustomerRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    sequentialId: Number(row.sequential_id),
    externalId: row.external_id,
    name: row.name ?? null,
    email: row.email ?? null,
    currency: row.currency ? String(row.currency).trim() : null,
    timezone: row.timezone ?? null,
    invoiceGracePeriod: row.invoice_grace_period ?? null,
    netPaymentTerm: row.net_payment_term ?? null,
    country: row.country ?? null,
    taxIdentificationNumber: row.tax_identification_number ?? null,
    customerType: row.customer_type ?? null,
    state: row.state ?? null,
    zipcode: row.zipcode ?? null,
    vatNumberStatus: row.vat_number_status ?? null,
    billingConfiguration: row.billing_configuration ?? {},
    paymentProvider: row.payment_provider ?? null,
    providerCustomerId: row.provider_customer_id ?? null,
    billingEntityCode: row.billing_entity_code,
    ...(row.billing_entity_timezone ? { billingEntityTimezone: row.billing_entity_timezone as string } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Lago's Customer#editable?: nothing billed or attached yet (tested on the `customers` row being merged). */
const CUSTOMER_EDITABLE_SQL = `NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.organization_id = customers.organization_id AND s.customer_id = customers.id)
  AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.organization_id = customers.organization_id AND i.customer_id = customers.id)
  AND NOT EXISTS (SELECT 1 FROM wallets w WHERE w.organization_id = customers.organization_id AND w.customer_id = customers.id)
  AND NOT EXISTS (SELECT 1 FROM applied_coupons ac WHERE ac.organization_id = customers.organization_id AND ac.customer_id = customers.id AND ac.amount_currency IS NOT NULL)`;

export async function upsertCustomer(db: Knex, organizationId: string, c: CustomerUpsert): Promise<{ customer: CustomerRecord; created: boolean }> {
  const values: Record<string, unknown> = {};
  if (c.name !== undefined) values.name = c.name;
  if (c.email !== undefined) values.email = c.email;
  if (c.currency !== undefined) values.currency = c.currency;
  if (c.timezone !== undefined) values.timezone = c.timezone;
  if (c.invoiceGracePeriod !== undefined) values.invoice_grace_period = c.invoiceGracePeriod;
  if (c.netPaymentTerm !== undefined) values.net_payment_term = c.netPaymentTerm;
  if (c.country !== undefined) values.country = c.country;
  if (c.taxIdentificationNumber !== undefined) values.tax_identification_number = c.taxIdentificationNumber;
  if (c.customerType !== undefined) values.customer_type = c.customerType;
  if (c.state !== undefined) values.state = c.state;
  if (c.zipcode !== undefined) values.zipcode = c.zipcode;
  if (c.paymentProvider !== undefined) values.payment_provider = c.paymentProvider;
  if (c.providerCustomerId !== undefined) values.provider_customer_id = c.providerCustomerId;
  const insert = {
    organization_id: organizationId,
    external_id: c.externalId,
    ...values,
    billing_configuration: JSON.stringify(c.billingConfiguration ?? {}),
  };
  const merge: Record<string, unknown> = { ...values, updated_at: db.fn.now() };
  // A changed VAT number loses its last VIES check (billing treats an unchecked number as unknown).
  if (c.taxIdentificationNumber !== undefined) {
    merge.vat_number_status = db.raw('CASE WHEN customers.tax_identification_number IS DISTINCT FROM excluded.tax_identification_number THEN NULL ELSE customers.vat_number_status END');
  }
  if (c.billingEntityCode !== undefined) {
    (insert as Record<string, unknown>).billing_entity_code = c.billingEntityCode;
    merge.billing_entity_code = db.raw(`CASE WHEN ${CUSTOMER_EDITABLE_SQL} THEN excluded.billing_entity_code ELSE customers.billing_entity_code END`);
  }
  if (c.billingConfiguration !== undefined) {
    merge.billing_configuration = db.raw('customers.billing_configuration || ?::jsonb', [JSON.stringify(c.billingConfiguration)]);
  }
  // sequential_id: the organization's own counter (never a global sequence), taken only for a new customer, in
  // the insert's transaction. Two concurrent creations of one external_id: the loser merges (its number is a gap).
  return db.transaction(async (trx) => {
    const existing = await trx('customers').where({ organization_id: organizationId, external_id: c.externalId }).whereNull('deleted_at').first('sequential_id');
    const sequentialId = existing ? Number(existing.sequential_id) : await nextOrganizationCounter(trx, organizationId, 'customer');
    // xmax = 0 only for a freshly inserted row: tells create from update in one statement.
    const [row] = await trx('customers')
      .insert({ ...insert, sequential_id: sequentialId })
      // The partial unique index over customers not deleted (migration 20261201001300_catalog_deletion).
      .onConflict(trx.raw('(organization_id, external_id) WHERE deleted_at IS NULL'))
      .merge(merge)
      .returning(['*', trx.raw('(xmax = 0) as inserted'), billingEntityTimezoneColumn(trx)]);
    return { customer: toCustomer(row), created: Boolean(row.inserted) };
  });
}

export async function getCustomerByExternalId(db: Knex, organizationId: string, externalId: string): Promise<CustomerRecord | null> {
  const row = await db('customers').where({ organization_id: organizationId, external_id: externalId }).whereNull('deleted_at').first('*', billingEntityTimezoneColumn(db));
  return row ? toCustomer(row) : null;
}

export async function getCustomersByIds(db: Knex, organizationId: string, ids: string[]): Promise<Map<string, CustomerRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await db('customers').where({ organization_id: organizationId }).whereIn('id', [...new Set(ids)]).select('*', billingEntityTimezoneColumn(db));
  return new Map(rows.map((r: Record<string, any>) => [r.id, toCustomer(r)]));
}

/** True when the customer has an active or pending subscription (its currency is then pinned). */
export async function hasLiveSubscription(db: Knex, organizationId: string, customerId: string): Promise<boolean> {
  const row = await db('subscriptions')
    .where({ organization_id: organizationId, customer_id: customerId })
    .whereIn('status', ['active', 'pending'])
    .first('id');
  return row !== undefined;
}

/**
 * Gives a customer without a currency the currency of its first subscription's plan (as Lago does); returns the
 * customer as stored afterwards (its currency unchanged when it already had one).
 */
export async function assignCustomerCurrencyIfUnset(db: Knex, organizationId: string, customerId: string, currency: string): Promise<CustomerRecord> {
  await db('customers').where({ organization_id: organizationId, id: customerId }).whereNull('currency').update({ currency, updated_at: db.fn.now() });
  const row = await db('customers').where({ organization_id: organizationId, id: customerId }).first();
  return toCustomer(row);
}

// A customer's payment methods at its payment provider (table customer_payment_methods, migration 20261202000400),
// Lago's PaymentMethodObject. The provider holds the methods (a card saved through the setup checkout link);
// Meterline keeps its own row per method (lago_id) to answer Lago's API and to name the default one: at most one
// default per customer (a partial unique index), a deleted method soft-deleted (deleted_at) and never listed again.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface PaymentMethodRecord {
  id: string;
  customerId: string;
  providerType: 'stripe';
  providerCode: string | null;
  providerMethodId: string;
  isDefault: boolean;
  createdAt: string;
}

function fromRow(r: any): PaymentMethodRecord {
  return {
    id: r.id,
    customerId: r.customer_id,
    providerType: r.provider_type,
    providerCode: r.provider_code ?? null,
    providerMethodId: r.provider_method_id,
    isDefault: r.is_default,
    createdAt: r.created_at.toISOString(),
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Brings the stored methods in line with what the provider lists for the customer: new ones are added (idempotent
 * on the provider's id), ones the provider no longer has are soft-deleted; when the customer has no default yet,
 * the provider's default becomes it. One transaction, the customer's rows locked.
 */
export async function syncPaymentMethods(
  db: Knex,
  organizationId: string,
  customerId: string,
  provider: { type: 'stripe'; code: string },
  methods: { providerMethodId: string; isDefault: boolean }[],
  now: Date,
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('customers').where({ organization_id: organizationId, id: customerId }).forUpdate().first('id');
    if (methods.length > 0) {
      await trx('customer_payment_methods')
        .insert(methods.map((m) => ({ organization_id: organizationId, customer_id: customerId, provider_type: provider.type, provider_code: provider.code, provider_method_id: m.providerMethodId, created_at: now })))
        .onConflict(['organization_id', 'provider_method_id'])
        .ignore();
    }
    await trx('customer_payment_methods')
      .where({ organization_id: organizationId, customer_id: customerId })
      .whereNull('deleted_at')
      .whereNotIn('provider_method_id', methods.map((m) => m.providerMethodId))
      .update({ deleted_at: now, is_default: false });
    const hasDefault = await trx('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId, is_default: true }).whereNull('deleted_at').first('id');
    const providerDefault = methods.find((m) => m.isDefault);
    if (!hasDefault && providerDefault) {
      await trx('customer_payment_methods')
        .where({ organization_id: organizationId, customer_id: customerId, provider_method_id: providerDefault.providerMethodId })
        .whereNull('deleted_at')
        .update({ is_default: true });
    }
  });
}

export async function listPaymentMethods(db: Db, organizationId: string, customerId: string, page: { page: number; perPage: number }): Promise<{ methods: PaymentMethodRecord[]; totalCount: number }> {
  const base = db('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId }).whereNull('deleted_at');
  const count = await base.clone().count<{ n: string }[]>('* as n');
  const rows = await base.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(page.perPage).offset((page.page - 1) * page.perPage);
  return { methods: rows.map(fromRow), totalCount: Number(count[0]!.n) };
}

/** The customer's live method with this lago_id, or null. */
export async function getPaymentMethod(db: Db, organizationId: string, customerId: string, id: string): Promise<PaymentMethodRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await db('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId, id }).whereNull('deleted_at').first();
  return row ? fromRow(row) : null;
}

/** Makes the method the customer's only default (idempotent). */
export async function setDefaultPaymentMethod(db: Knex, organizationId: string, customerId: string, id: string): Promise<PaymentMethodRecord> {
  return db.transaction(async (trx) => {
    await trx('customers').where({ organization_id: organizationId, id: customerId }).forUpdate().first('id');
    await trx('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId, is_default: true }).whereNot({ id }).update({ is_default: false });
    const [row] = await trx('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId, id }).whereNull('deleted_at').update({ is_default: true }, '*');
    return fromRow(row);
  });
}

/** How many live methods the customer has. */
export async function countPaymentMethods(db: Db, organizationId: string, customerId: string): Promise<number> {
  const row = await db('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId }).whereNull('deleted_at').count<{ n: string }[]>('* as n');
  return Number(row[0]!.n);
}

/** Soft-deletes the method; answers it as it was. */
export async function deletePaymentMethod(db: Db, organizationId: string, customerId: string, id: string, now: Date): Promise<PaymentMethodRecord | null> {
  const before = await getPaymentMethod(db, organizationId, customerId, id);
  if (!before) return null;
  await db('customer_payment_methods').where({ organization_id: organizationId, customer_id: customerId, id }).whereNull('deleted_at').update({ deleted_at: now, is_default: false });
  return before;
}

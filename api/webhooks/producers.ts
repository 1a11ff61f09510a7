// Webhook producers on the API side: the change and its outbox rows in one transaction.
import type { Knex } from 'knex';
import { upsertCustomer, type CustomerRecord, type CustomerUpsert } from '../../db/repositories/customers';
import { enqueueWebhook } from '../../db/repositories/webhooks';

/**
 * upsertCustomer plus customer.created (new row) or customer.updated (existing row), serialized by the route's
 * serializer (passed in: it lives in api/routes/customers.ts), committed together.
 */
export async function upsertCustomerAnnounced(
  db: Knex,
  organizationId: string,
  input: CustomerUpsert,
  serialize: (c: CustomerRecord, trx: Knex.Transaction) => Promise<Record<string, unknown>>,
  /** What else belongs to the same change (the customer's taxes), written before the announcement. */
  alsoWrite: (trx: Knex.Transaction, c: CustomerRecord) => Promise<void> = async () => undefined,
): Promise<{ customer: CustomerRecord; created: boolean }> {
  return db.transaction(async (trx) => {
    const r = await upsertCustomer(trx, organizationId, input);
    await alsoWrite(trx, r.customer);
    const webhookType = r.created ? 'customer.created' : 'customer.updated';
    await enqueueWebhook(trx, {
      organizationId,
      webhookType,
      objectType: 'customer',
      object: await serialize(r.customer, trx),
      // updated_at is the statement's transaction time: one key per change, the same when this commit is replayed.
      uniqueKey: `${webhookType}:${r.customer.id}:${r.customer.updatedAt.toISOString()}`,
    });
    return r;
  });
}

// The subscriptions whose workflows watch a customer's wallets (their usage checks refresh the ongoing balance).
import type { Knex } from 'knex';

/** Ids of the customer's active subscriptions. */
export async function listSubscriptionIdsOfCustomer(db: Knex, organizationId: string, customerId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('subscriptions').where({ organization_id: organizationId, customer_id: customerId, status: 'active' }).orderBy('id').select('id');
  return rows.map((r) => r.id);
}

/** True when the subscription's customer has an active wallet (the workflow then runs periodic usage checks). */
export async function subscriptionCustomerHasActiveWallet(db: Knex | Knex.Transaction, organizationId: string, subscriptionId: string): Promise<boolean> {
  const row = await db('wallets as w')
    .join('subscriptions as s', function on() {
      this.on('s.customer_id', '=', 'w.customer_id').andOn('s.organization_id', '=', 'w.organization_id');
    })
    .where({ 's.organization_id': organizationId, 's.id': subscriptionId, 'w.status': 'active' })
    .first('w.id');
  return row !== undefined;
}

/** The subscription's customer id when the customer has an active wallet, else null (nothing to refresh). */
export async function customerOfSubscription(db: Knex, organizationId: string, subscriptionId: string): Promise<string | null> {
  const row = await db('wallets as w')
    .join('subscriptions as s', function on() {
      this.on('s.customer_id', '=', 'w.customer_id').andOn('s.organization_id', '=', 'w.organization_id');
    })
    .where({ 's.organization_id': organizationId, 's.id': subscriptionId, 'w.status': 'active' })
    .first('s.customer_id');
  return row?.customer_id ?? null;
}

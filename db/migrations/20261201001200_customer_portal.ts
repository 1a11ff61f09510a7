// Customer portal (issue 13):
//
// - portal_secrets: per organization, the HMAC-SHA256 key that signs its customers' portal links (generated once,
//   on the first GET /customers/:id/portal_url; never served). A link is valid only with its organization's key,
//   so one organization's links can never open another's data.
// - portal_top_up_requests: a customer's "top up my wallet" request from the portal page. Recorded only (an
//   operator or the wallets module acts on it); unique on (organization, customer, request_key) so a button
//   clicked twice or a retried request records one request.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_secrets', (t) => {
    t.uuid('organization_id').primary().references('organizations.id');
    t.text('secret').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('portal_top_up_requests', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    // The wallet the customer chose (a wallets row id), or NULL: "my wallet" when the customer has none yet.
    t.text('wallet_id');
    t.bigInteger('amount_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.text('request_key').notNullable();
    t.text('status').notNullable().defaultTo('requested');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'customer_id', 'request_key'], { indexName: 'portal_top_up_requests_key' });
    t.index(['organization_id', 'customer_id', 'created_at']);
  });
  await knex.raw(`ALTER TABLE portal_top_up_requests ADD CONSTRAINT portal_top_up_requests_amount CHECK (amount_cents > 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('portal_top_up_requests');
  await knex.schema.dropTableIfExists('portal_secrets');
}

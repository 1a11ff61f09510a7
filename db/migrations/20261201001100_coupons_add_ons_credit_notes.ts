// Coupons, applied coupons and their credits; add-ons and one-off invoices; credit notes, their items, the
// invoices that consumed their balances, and their refunds (issue 12b).
//
// - coupons: unique code per organization among live (not deleted) coupons; limits as plan / metric code lists.
// - applied_coupons: at most ONE active application of a coupon per customer (partial unique index): two
//   concurrent applications of a coupon → one insert wins, the other is refused (coupon_already_applied).
// - applied_coupon_credits: what a FINALIZED invoice took from an applied coupon, once per (applied coupon,
//   invoice); a coupon's consumption is the Σ of these rows. Drafts carry their computed credits in
//   invoices.coupon_credits (recomputed at every rating) until finalization writes them here.
// - invoices.subscription_id becomes nullable: a one-off invoice (invoice_type one_off) belongs to a customer only.
// - fees.precise_coupons_amount_cents: the fee's share of the coupons (billing/coupons.ts, C2); fees.add_on_id and
//   description for add-on fees.
// - credit_notes: per invoice a sequential id (unique), a number unique per organization, an optional business
//   key (unique per organization) for callers that must not create one twice (the unused-fee credit on plan
//   change); balance_amount_cents = what is left of the credit for later invoices.
// - credit_note_applications: what a finalized invoice took from a credit note's balance, once per (note, invoice).
// - credit_note_refunds: one refund per credit note, idempotency key `credit_note:<id>:refund`.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('coupons', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.text('description');
    t.text('coupon_type').notNullable();
    t.bigInteger('amount_cents');
    t.specificType('amount_currency', 'char(3)');
    t.decimal('percentage_rate', 9, 5);
    t.text('frequency').notNullable();
    t.integer('frequency_duration');
    t.boolean('reusable').notNullable().defaultTo(true);
    t.text('expiration').notNullable().defaultTo('no_expiration');
    t.timestamp('expiration_at', { useTz: true });
    t.specificType('plan_codes', 'text[]').notNullable().defaultTo('{}');
    t.specificType('billable_metric_codes', 'text[]').notNullable().defaultTo('{}');
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('terminated_at', { useTz: true });
    t.timestamp('deleted_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX coupons_live_code ON coupons (organization_id, code) WHERE deleted_at IS NULL');
  await knex.raw(`ALTER TABLE coupons ADD CONSTRAINT coupons_amounts CHECK (
    (coupon_type = 'fixed_amount' AND amount_cents IS NOT NULL AND amount_cents > 0 AND amount_currency IS NOT NULL)
    OR (coupon_type = 'percentage' AND percentage_rate IS NOT NULL AND percentage_rate > 0 AND percentage_rate <= 100))`);

  await knex.schema.createTable('applied_coupons', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('coupon_id').notNullable().references('coupons.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.text('status').notNullable().defaultTo('active');
    t.bigInteger('amount_cents');
    t.specificType('amount_currency', 'char(3)');
    t.decimal('percentage_rate', 9, 5);
    t.text('frequency').notNullable();
    t.integer('frequency_duration');
    t.timestamp('terminated_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'customer_id']);
  });
  await knex.raw(`CREATE UNIQUE INDEX applied_coupons_one_active ON applied_coupons (customer_id, coupon_id) WHERE status = 'active'`);

  await knex.schema.createTable('applied_coupon_credits', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('applied_coupon_id').notNullable().references('applied_coupons.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.bigInteger('amount_cents').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['applied_coupon_id', 'invoice_id']);
  });

  await knex.schema.createTable('add_ons', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.text('invoice_display_name');
    t.text('description');
    t.bigInteger('amount_cents').notNullable();
    t.specificType('amount_currency', 'char(3)').notNullable();
    t.timestamp('deleted_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX add_ons_live_code ON add_ons (organization_id, code) WHERE deleted_at IS NULL');

  await knex.raw('ALTER TABLE invoices ALTER COLUMN subscription_id DROP NOT NULL');
  await knex.schema.alterTable('invoices', (t) => {
    t.bigInteger('coupons_amount_cents').notNullable().defaultTo(0);
    t.bigInteger('credit_notes_amount_cents').notNullable().defaultTo(0);
    t.jsonb('coupon_credits').notNullable().defaultTo('[]');
  });
  await knex.schema.alterTable('fees', (t) => {
    t.decimal('precise_coupons_amount_cents', 40, 15).notNullable().defaultTo(0);
    t.uuid('add_on_id').references('add_ons.id');
    t.text('description');
  });

  await knex.schema.createTable('credit_notes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.integer('sequential_id').notNullable();
    t.text('number').notNullable();
    t.date('issuing_date').notNullable();
    t.text('reason').notNullable();
    t.text('description');
    t.specificType('currency', 'char(3)').notNullable();
    // available | consumed | voided (null when nothing was credited)
    t.text('credit_status');
    // pending | succeeded | failed (null when nothing is refunded)
    t.text('refund_status');
    t.bigInteger('total_amount_cents').notNullable();
    t.bigInteger('credit_amount_cents').notNullable();
    t.bigInteger('balance_amount_cents').notNullable();
    t.bigInteger('refund_amount_cents').notNullable();
    t.bigInteger('offset_amount_cents').notNullable();
    t.bigInteger('taxes_amount_cents').notNullable();
    t.decimal('precise_taxes_amount_cents', 40, 15).notNullable();
    t.decimal('taxes_rate', 12, 5).notNullable();
    t.bigInteger('sub_total_excluding_taxes_amount_cents').notNullable();
    t.bigInteger('coupons_adjustment_amount_cents').notNullable();
    t.decimal('precise_coupons_adjustment_amount_cents', 40, 15).notNullable();
    t.jsonb('applied_taxes').notNullable().defaultTo('[]');
    t.text('business_key');
    t.timestamp('voided_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['invoice_id', 'sequential_id']);
    t.unique(['organization_id', 'number']);
    t.unique(['organization_id', 'business_key']);
    t.index(['organization_id', 'customer_id']);
  });
  await knex.raw(`ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_balance CHECK (
    credit_amount_cents + refund_amount_cents + offset_amount_cents = total_amount_cents
    AND balance_amount_cents >= 0 AND balance_amount_cents <= credit_amount_cents
    AND total_amount_cents = sub_total_excluding_taxes_amount_cents + taxes_amount_cents)`);

  await knex.schema.createTable('credit_note_items', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('credit_note_id').notNullable().references('credit_notes.id').onDelete('CASCADE');
    t.uuid('fee_id').notNullable().references('fees.id');
    t.bigInteger('amount_cents').notNullable();
    t.decimal('precise_coupons_adjustment_amount_cents', 40, 15).notNullable();
    t.unique(['credit_note_id', 'fee_id']);
    t.index(['fee_id']);
  });
  await knex.raw('ALTER TABLE credit_note_items ADD CONSTRAINT credit_note_items_positive CHECK (amount_cents > 0)');

  await knex.schema.createTable('credit_note_applications', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('credit_note_id').notNullable().references('credit_notes.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.bigInteger('amount_cents').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['credit_note_id', 'invoice_id']);
  });

  await knex.schema.createTable('credit_note_refunds', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('credit_note_id').notNullable().unique().references('credit_notes.id');
    t.text('idempotency_key').notNullable();
    t.text('provider_payment_id');
    t.text('provider_refund_id');
    t.text('status').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['credit_note_refunds', 'credit_note_applications', 'credit_note_items', 'credit_notes', 'applied_coupon_credits', 'applied_coupons', 'coupons']) {
    await knex.schema.dropTableIfExists(t);
  }
  await knex.schema.alterTable('fees', (t) => {
    t.dropColumn('precise_coupons_amount_cents');
    t.dropColumn('add_on_id');
    t.dropColumn('description');
  });
  await knex.schema.dropTableIfExists('add_ons');
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('coupons_amount_cents');
    t.dropColumn('credit_notes_amount_cents');
    t.dropColumn('coupon_credits');
  });
  await knex.raw('ALTER TABLE invoices ALTER COLUMN subscription_id SET NOT NULL');
}

// Lago's customer-and-money operations (issue 13, ops13a):
// - pay_in_advance_fees.deleted_at: DELETE /fees/:lago_id soft-deletes a fee on no invoice. The row stays, so its
//   (charge, transaction_id) key still says the event was billed and a redelivered event is never billed again;
//   every read of fees on no invoice skips deleted rows.
// - payment_receipts: Lago's receipt of a successful payment, one per payment (unique payment_id), numbered per
//   organization (`<ORG>-RCPT-000001`) from a counter row updated in the same statement, so concurrent payments
//   serialize on it and never share a number. Written by a trigger on payments: every path that makes a payment
//   succeed (POST /payments, the provider attempt, a Stripe webhook) writes its receipt in its own transaction.
// - payment_requests / payment_request_invoices: Lago's manual payment request of a customer's overdue invoices;
//   an invoice is in at most one request whose creation key is the same (unique (organization_id, request_key)).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE pay_in_advance_fees ADD COLUMN deleted_at timestamptz');

  await knex.schema.createTable('payment_receipt_counters', (t) => {
    t.uuid('organization_id').primary().references('organizations.id');
    t.bigInteger('last_number').notNullable();
  });
  await knex.schema.createTable('payment_receipts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('payment_id').notNullable().references('payments.id');
    t.text('number').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['payment_id']);
    t.unique(['organization_id', 'number']);
    t.index(['organization_id', 'created_at']);
  });
  await knex.raw(`
    CREATE FUNCTION meterline_payment_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE n bigint; prefix text;
    BEGIN
      IF NEW.status <> 'succeeded' OR (TG_OP = 'UPDATE' AND OLD.status = 'succeeded') THEN RETURN NEW; END IF;
      IF EXISTS (SELECT 1 FROM payment_receipts WHERE payment_id = NEW.id) THEN RETURN NEW; END IF;
      INSERT INTO payment_receipt_counters (organization_id, last_number) VALUES (NEW.organization_id, 1)
        ON CONFLICT (organization_id) DO UPDATE SET last_number = payment_receipt_counters.last_number + 1
        RETURNING last_number INTO n;
      SELECT coalesce(nullif(upper(left(regexp_replace(o.slug, '[^A-Za-z0-9]', '', 'g'), 3)), ''), 'ML') INTO prefix
        FROM organizations o WHERE o.id = NEW.organization_id;
      INSERT INTO payment_receipts (organization_id, payment_id, number)
        VALUES (NEW.organization_id, NEW.id, coalesce(prefix, 'ML') || '-RCPT-' || lpad(n::text, 6, '0'))
        ON CONFLICT (payment_id) DO NOTHING;
      RETURN NEW;
    END $$;
    CREATE TRIGGER payments_receipt AFTER INSERT OR UPDATE OF status ON payments
      FOR EACH ROW EXECUTE FUNCTION meterline_payment_receipt();
  `);
  // Payments that succeeded before this migration get their receipt now, in creation order.
  await knex.raw(`
    WITH todo AS (
      SELECT p.id, p.organization_id, row_number() OVER (PARTITION BY p.organization_id ORDER BY p.created_at, p.id) AS n
      FROM payments p WHERE p.status = 'succeeded'
    )
    INSERT INTO payment_receipts (organization_id, payment_id, number)
    SELECT t.organization_id, t.id, coalesce(nullif(upper(left(regexp_replace(o.slug, '[^A-Za-z0-9]', '', 'g'), 3)), ''), 'ML') || '-RCPT-' || lpad(t.n::text, 6, '0')
    FROM todo t JOIN organizations o ON o.id = t.organization_id
  `);
  await knex.raw(`
    INSERT INTO payment_receipt_counters (organization_id, last_number)
    SELECT organization_id, count(*) FROM payment_receipts GROUP BY organization_id
  `);

  await knex.schema.createTable('payment_requests', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.text('email').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    /** The request's identity: the sorted invoice ids (a repeated POST answers the same request). */
    t.text('request_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'request_key']);
    t.index(['organization_id', 'customer_id', 'created_at']);
  });
  await knex.schema.createTable('payment_request_invoices', (t) => {
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('payment_request_id').notNullable().references('payment_requests.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.primary(['payment_request_id', 'invoice_id']);
    t.index(['organization_id', 'invoice_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('payment_request_invoices');
  await knex.schema.dropTable('payment_requests');
  await knex.raw('DROP TRIGGER IF EXISTS payments_receipt ON payments');
  await knex.raw('DROP FUNCTION IF EXISTS meterline_payment_receipt()');
  await knex.schema.dropTable('payment_receipts');
  await knex.schema.dropTable('payment_receipt_counters');
  await knex.raw('ALTER TABLE pay_in_advance_fees DROP COLUMN IF EXISTS deleted_at');
}

// Wallets (Lago prepaid credits) and their double-entry credit ledger (issue 12).
//
// - wallets: one prepaid-credit account of a customer (currency, rate_amount, priority, applies_to, expiration).
//   balance_cents is a CACHE of the ledger, written only in the transaction that posts the entries, and checked
//   by a deferred constraint trigger at commit: it must equal Σ of the wallet account's entries, and be ≥ 0.
// - wallet_transactions: Lago's wallet transactions (inbound purchased/granted, outbound invoiced/voided, and
//   expiry). unique (organization_id, business_key) makes every movement idempotent on its business key
//   (`invoice:<id>` per wallet for a consumption, the Idempotency-Key or rule/period for top-ups).
// - wallet_ledger_entries: append-only (UPDATE/DELETE refused by a trigger). Every settled movement is ≥ 2 entries
//   summing to zero (deferred constraint trigger): the `wallet` account against one counter-account —
//   purchases, grants, consumption, expiry, voids, refunds. The wallet's balance is Σ amount_cents over its
//   `wallet` entries.
// - wallet_recurring_transaction_rules: interval / threshold top-ups (method fixed | target).
// - wallet_depletions: one row per time the ongoing balance reached zero (the wallet.depleted_ongoing_balance record).
// - invoices.prepaid_credit_amount_cents: what wallets paid of a finalized invoice (total_amount_cents is after it).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('wallets', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.text('name');
    t.text('code');
    t.text('status').notNullable().defaultTo('active');
    t.specificType('currency', 'char(3)').notNullable();
    t.decimal('rate_amount', 30, 10).notNullable();
    t.integer('priority').notNullable().defaultTo(50);
    t.timestamp('expiration_at', { useTz: true });
    t.timestamp('terminated_at', { useTz: true });
    t.boolean('invoice_requires_successful_payment').notNullable().defaultTo(false);
    t.jsonb('applies_to_fee_types');
    t.jsonb('applies_to_billable_metric_codes');
    t.bigInteger('balance_cents').notNullable().defaultTo(0);
    t.bigInteger('ongoing_usage_balance_cents').notNullable().defaultTo(0);
    t.bigInteger('ongoing_balance_cents').notNullable().defaultTo(0);
    t.timestamp('ongoing_balance_confirmed_at', { useTz: true });
    t.integer('depletions_count').notNullable().defaultTo(0);
    t.timestamp('last_balance_sync_at', { useTz: true });
    t.timestamp('last_consumed_credit_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'customer_id', 'status']);
  });
  await knex.raw(`ALTER TABLE wallets ADD CONSTRAINT wallets_balance_non_negative CHECK (balance_cents >= 0)`);
  await knex.raw(`ALTER TABLE wallets ADD CONSTRAINT wallets_status CHECK (status IN ('active', 'terminated'))`);
  await knex.raw(`ALTER TABLE wallets ADD CONSTRAINT wallets_priority CHECK (priority BETWEEN 1 AND 50)`);
  await knex.raw(`ALTER TABLE wallets ADD CONSTRAINT wallets_rate_positive CHECK (rate_amount > 0)`);
  await knex.raw(`CREATE UNIQUE INDEX wallets_customer_code ON wallets (organization_id, customer_id, code) WHERE code IS NOT NULL AND status = 'active'`);

  await knex.schema.createTable('wallet_recurring_transaction_rules', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('wallet_id').notNullable().references('wallets.id');
    t.text('trigger').notNullable();
    t.text('method').notNullable().defaultTo('fixed');
    t.text('interval');
    t.decimal('threshold_credits', 30, 5);
    t.decimal('paid_credits', 30, 5).notNullable().defaultTo(0);
    t.decimal('granted_credits', 30, 5).notNullable().defaultTo(0);
    t.decimal('target_ongoing_balance', 30, 5);
    t.boolean('grants_target_top_up').notNullable().defaultTo(false);
    t.boolean('invoice_requires_successful_payment').notNullable().defaultTo(false);
    t.text('transaction_name');
    t.jsonb('transaction_metadata').notNullable().defaultTo('[]');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('expiration_at', { useTz: true });
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'wallet_id']);
  });
  await knex.raw(`ALTER TABLE wallet_recurring_transaction_rules ADD CONSTRAINT wrtr_trigger CHECK (trigger IN ('interval', 'threshold'))`);
  await knex.raw(`ALTER TABLE wallet_recurring_transaction_rules ADD CONSTRAINT wrtr_method CHECK (method IN ('fixed', 'target'))`);

  await knex.schema.createTable('wallet_transactions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('wallet_id').notNullable().references('wallets.id');
    t.text('transaction_type').notNullable(); // inbound | outbound
    t.text('transaction_status').notNullable(); // purchased | granted | voided | invoiced | expired
    t.text('status').notNullable(); // pending | settled | failed
    t.text('source').notNullable().defaultTo('manual'); // manual | interval | threshold | expiration
    t.bigInteger('amount_cents').notNullable();
    t.decimal('credit_amount', 30, 5).notNullable();
    t.uuid('invoice_id');
    t.uuid('rule_id').references('wallet_recurring_transaction_rules.id');
    t.text('name');
    t.jsonb('metadata').notNullable().defaultTo('[]');
    t.boolean('invoice_requires_successful_payment').notNullable().defaultTo(false);
    t.text('business_key').notNullable();
    t.timestamp('settled_at', { useTz: true });
    t.timestamp('failed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'business_key']);
    t.index(['organization_id', 'wallet_id', 'created_at']);
  });
  await knex.raw(`ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_amount CHECK (amount_cents >= 0 AND credit_amount >= 0)`);
  await knex.raw(`CREATE UNIQUE INDEX wallet_transactions_invoice ON wallet_transactions (wallet_id, invoice_id) WHERE transaction_status = 'invoiced'`);

  await knex.schema.createTable('wallet_ledger_entries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('wallet_id').notNullable().references('wallets.id');
    t.uuid('transaction_id').notNullable().references('wallet_transactions.id');
    t.text('account').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['wallet_id', 'account']);
    t.index(['transaction_id']);
  });
  await knex.raw(`ALTER TABLE wallet_ledger_entries ADD CONSTRAINT wallet_ledger_account CHECK (account IN ('wallet', 'purchases', 'grants', 'consumption', 'expiry', 'voids', 'refunds'))`);
  await knex.raw(`
    CREATE FUNCTION wallet_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'wallet_ledger_entries is append-only'; END $$;
    CREATE TRIGGER wallet_ledger_no_change BEFORE UPDATE OR DELETE ON wallet_ledger_entries
      FOR EACH ROW EXECUTE FUNCTION wallet_ledger_append_only();

    CREATE FUNCTION wallet_ledger_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE s bigint; b bigint; w bigint;
    BEGIN
      SELECT coalesce(sum(amount_cents), 0) INTO s FROM wallet_ledger_entries WHERE transaction_id = NEW.transaction_id;
      IF s <> 0 THEN RAISE EXCEPTION 'wallet ledger: entries of transaction % sum to %, not 0', NEW.transaction_id, s; END IF;
      SELECT balance_cents INTO b FROM wallets WHERE id = NEW.wallet_id;
      SELECT coalesce(sum(amount_cents), 0) INTO w FROM wallet_ledger_entries WHERE wallet_id = NEW.wallet_id AND account = 'wallet';
      IF b <> w THEN RAISE EXCEPTION 'wallet ledger: wallet % caches balance %, its entries sum to %', NEW.wallet_id, b, w; END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER wallet_ledger_balanced AFTER INSERT ON wallet_ledger_entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet_ledger_check();

    CREATE FUNCTION wallet_balance_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE w bigint; b bigint;
    BEGIN
      -- The row as it is at commit (a deferred trigger's NEW is the row as of its event).
      SELECT balance_cents INTO b FROM wallets WHERE id = NEW.id;
      SELECT coalesce(sum(amount_cents), 0) INTO w FROM wallet_ledger_entries WHERE wallet_id = NEW.id AND account = 'wallet';
      IF b <> w THEN RAISE EXCEPTION 'wallet %: balance % changed without ledger entries (entries sum to %)', NEW.id, b, w; END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER wallet_balance_matches_ledger AFTER INSERT OR UPDATE OF balance_cents ON wallets
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallet_balance_check();
  `);

  await knex.schema.createTable('wallet_depletions', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('wallet_id').notNullable().references('wallets.id');
    t.integer('sequence').notNullable();
    t.bigInteger('ongoing_balance_cents').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['wallet_id', 'sequence']);
  });

  await knex.schema.alterTable('invoices', (t) => {
    t.bigInteger('prepaid_credit_amount_cents').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => t.dropColumn('prepaid_credit_amount_cents'));
  await knex.schema.dropTable('wallet_depletions');
  await knex.schema.dropTable('wallet_ledger_entries');
  await knex.schema.dropTable('wallet_transactions');
  await knex.schema.dropTable('wallet_recurring_transaction_rules');
  await knex.schema.dropTable('wallets');
  await knex.raw('DROP FUNCTION IF EXISTS wallet_ledger_append_only(); DROP FUNCTION IF EXISTS wallet_ledger_check(); DROP FUNCTION IF EXISTS wallet_balance_check();');
}

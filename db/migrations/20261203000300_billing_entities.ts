// ops13g (issue 13): Lago's billing entities. An organization has had one issuer (its own row); this table models
// billing entities for real, one of them the organization's default (is_default, at most one per organization).
//
// Source of truth (no duplicate): the DEFAULT entity's name, timezone, invoice grace period and net payment term are
// the organization's columns (organizations.name, default_timezone, invoice_grace_period, net_payment_term; the
// invoicing code reads them there) and its document number prefix comes from the organization's slug; the default row
// leaves those columns NULL and stores only what the organization has no column for (address, legal name and
// number, tax identification number, e-mail, locale, footer, currency, ...). A second entity stores everything on
// its own row. Default code: the organization's slug (the code credit notes already answer as billing_entity_code).
//
// Every organization gets its default entity: existing ones here, new ones by an AFTER INSERT trigger on
// organizations (so every way an organization is created is covered).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('billing_entities', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.boolean('is_default').notNullable().defaultTo(false);
    // NULL on the default entity (read from organizations); set on every other entity.
    t.text('name');
    t.text('timezone');
    t.integer('invoice_grace_period');
    t.integer('net_payment_term');
    t.text('document_number_prefix');
    // Every entity's own.
    t.specificType('default_currency', 'char(3)').notNullable().defaultTo('USD');
    t.text('document_locale').notNullable().defaultTo('en');
    t.text('document_numbering').notNullable().defaultTo('per_billing_entity');
    t.boolean('finalize_zero_amount_invoice').notNullable().defaultTo(true);
    t.text('invoice_footer');
    t.text('subscription_invoice_issuing_date_anchor').notNullable().defaultTo('next_period_start');
    t.text('subscription_invoice_issuing_date_adjustment').notNullable().defaultTo('align_with_finalization_date');
    t.text('address_line1');
    t.text('address_line2');
    t.text('city');
    t.text('state');
    t.text('country');
    t.text('zipcode');
    t.text('email');
    t.text('legal_name');
    t.text('legal_number');
    t.text('tax_identification_number');
    t.jsonb('email_settings').notNullable().defaultTo('[]');
    t.boolean('eu_tax_management').notNullable().defaultTo(false);
    t.text('logo_url');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });
  await knex.raw('CREATE UNIQUE INDEX billing_entities_one_default ON billing_entities (organization_id) WHERE is_default');
  await knex.raw(`ALTER TABLE billing_entities ADD CONSTRAINT billing_entities_default_reads_organization CHECK (
    NOT is_default OR (name IS NULL AND timezone IS NULL AND invoice_grace_period IS NULL AND net_payment_term IS NULL AND document_number_prefix IS NULL))`);
  await knex.raw(`ALTER TABLE billing_entities ADD CONSTRAINT billing_entities_other_has_own CHECK (
    is_default OR (name IS NOT NULL AND timezone IS NOT NULL AND invoice_grace_period IS NOT NULL AND net_payment_term IS NOT NULL))`);
  await knex.raw(`ALTER TABLE billing_entities ADD CONSTRAINT billing_entities_numbering CHECK (document_numbering IN ('per_customer', 'per_billing_entity'))`);
  await knex.raw(`INSERT INTO billing_entities (organization_id, code, is_default, created_at, updated_at)
    SELECT id, slug, true, created_at, created_at FROM organizations ON CONFLICT DO NOTHING`);
  await knex.raw(`CREATE FUNCTION billing_entities_default_for_organization() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO billing_entities (organization_id, code, is_default, created_at, updated_at)
      VALUES (NEW.id, NEW.slug, true, NEW.created_at, NEW.created_at) ON CONFLICT DO NOTHING;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER organizations_default_billing_entity AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION billing_entities_default_for_organization()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS organizations_default_billing_entity ON organizations');
  await knex.raw('DROP FUNCTION IF EXISTS billing_entities_default_for_organization()');
  await knex.schema.dropTable('billing_entities');
}

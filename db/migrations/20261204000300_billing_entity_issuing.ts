// entity13 (issue 13): billing entities issue invoices, as in Lago 1.51.
//
// - customers.billing_entity_code and invoices.billing_entity_code: the entity a customer belongs to and the entity
//   that issued an invoice, by the entity's natural key (organization_id, code) under a composite foreign key, so
//   another organization's entity cannot be referenced and the answers need no join. Existing rows get their
//   organization's default entity. A row inserted without one gets it by trigger: a customer its organization's
//   default entity, an invoice its customer's entity at that moment (every insert path, fixtures included).
// - billing_entity_settings: each entity's effective name / timezone / grace period / net payment term (the default
//   entity's are the organization's columns, see 20261203000300), which invoicing reads in place of the
//   organization's.
// - A non-default entity created without a document_number_prefix gets Lago's generated one
//   (first 3 letters of its name, upper-cased, '-', the last 4 characters of its id, upper-cased); every non-default
//   entity has one from now on (CHECK), so its invoices never fall back to the organization's prefix.
// Numbering: the default entity keeps invoice_sequences (numbers unchanged); any other sequence (another entity's,
// or a customer's under per_customer numbering) is an organization_counters row (db/repositories/invoices.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  for (const table of ['customers', 'invoices']) {
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN billing_entity_code text`);
  }
  await knex.raw(`UPDATE customers c SET billing_entity_code = be.code FROM billing_entities be
    WHERE be.organization_id = c.organization_id AND be.is_default`);
  await knex.raw(`UPDATE invoices i SET billing_entity_code = c.billing_entity_code FROM customers c
    WHERE c.id = i.customer_id AND c.organization_id = i.organization_id`);
  for (const table of ['customers', 'invoices']) {
    await knex.raw(`ALTER TABLE ${table} ALTER COLUMN billing_entity_code SET NOT NULL`);
    await knex.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_billing_entity_fk FOREIGN KEY (organization_id, billing_entity_code)
      REFERENCES billing_entities (organization_id, code) ON UPDATE CASCADE`);
  }
  await knex.raw('CREATE INDEX invoices_billing_entity ON invoices (organization_id, billing_entity_code)');
  await knex.raw(`CREATE FUNCTION customers_default_billing_entity() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.billing_entity_code IS NULL THEN
        SELECT code INTO NEW.billing_entity_code FROM billing_entities WHERE organization_id = NEW.organization_id AND is_default;
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER customers_billing_entity BEFORE INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_default_billing_entity()`);
  await knex.raw(`CREATE FUNCTION invoices_customer_billing_entity() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.billing_entity_code IS NULL THEN
        SELECT billing_entity_code INTO NEW.billing_entity_code FROM customers WHERE id = NEW.customer_id AND organization_id = NEW.organization_id;
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER invoices_billing_entity BEFORE INSERT ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_customer_billing_entity()`);
  await knex.raw(`CREATE VIEW billing_entity_settings AS
    SELECT be.organization_id, be.code, be.is_default,
           COALESCE(be.name, o.name) AS name,
           COALESCE(be.timezone, o.default_timezone) AS timezone,
           COALESCE(be.invoice_grace_period, o.invoice_grace_period) AS invoice_grace_period,
           COALESCE(be.net_payment_term, o.net_payment_term) AS net_payment_term
    FROM billing_entities be JOIN organizations o ON o.id = be.organization_id`);
  await knex.raw(`UPDATE billing_entities SET document_number_prefix = upper(left(name, 3)) || '-' || upper(right(id::text, 4))
    WHERE NOT is_default AND document_number_prefix IS NULL`);
  await knex.raw(`ALTER TABLE billing_entities ADD CONSTRAINT billing_entities_other_has_prefix CHECK (is_default OR document_number_prefix IS NOT NULL)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE billing_entities DROP CONSTRAINT IF EXISTS billing_entities_other_has_prefix');
  await knex.raw('DROP VIEW IF EXISTS billing_entity_settings');
  await knex.raw('DROP TRIGGER IF EXISTS invoices_billing_entity ON invoices');
  await knex.raw('DROP FUNCTION IF EXISTS invoices_customer_billing_entity()');
  await knex.raw('DROP TRIGGER IF EXISTS customers_billing_entity ON customers');
  await knex.raw('DROP FUNCTION IF EXISTS customers_default_billing_entity()');
  for (const table of ['invoices', 'customers']) {
    await knex.raw(`ALTER TABLE ${table} DROP COLUMN IF EXISTS billing_entity_code`);
  }
}

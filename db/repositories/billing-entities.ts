// Billing entities (Lago 1.51; migration 20261203000300_billing_entities). The default entity's name, timezone,
// invoice grace period and net payment term ARE the organization's columns (read and written there, in one
// transaction with the entity's own columns); its taxes are the organization's default taxes
// (taxes.applied_to_organization). Another entity keeps all of its settings on its own row.
import crypto from 'node:crypto';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface BillingEntitySettings {
  name: string;
  timezone: string;
  invoiceGracePeriod: number;
  netPaymentTerm: number;
  documentNumberPrefix: string | null;
  defaultCurrency: string;
  documentLocale: string;
  documentNumbering: 'per_customer' | 'per_billing_entity';
  finalizeZeroAmountInvoice: boolean;
  invoiceFooter: string | null;
  issuingDateAnchor: string;
  issuingDateAdjustment: string;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  zipcode: string | null;
  email: string | null;
  legalName: string | null;
  legalNumber: string | null;
  taxIdentificationNumber: string | null;
  emailSettings: string[];
  euTaxManagement: boolean;
  logoUrl: string | null;
}

export interface BillingEntityRecord extends BillingEntitySettings {
  id: string;
  organizationId: string;
  code: string;
  isDefault: boolean;
  /** The organization's slug (the default entity's invoice number prefix comes from it). */
  organizationSlug: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What the organization row holds for the default entity. */
const ORGANIZATION_FIELDS = { name: 'name', timezone: 'default_timezone', invoiceGracePeriod: 'invoice_grace_period', netPaymentTerm: 'net_payment_term' } as const;
/** The same four on another entity's own row. */
const ENTITY_COLUMNS = { name: 'name', timezone: 'timezone', invoiceGracePeriod: 'invoice_grace_period', netPaymentTerm: 'net_payment_term' } as const;
const OWN_COLUMNS: Record<Exclude<keyof BillingEntitySettings, keyof typeof ORGANIZATION_FIELDS>, string> = {
  documentNumberPrefix: 'document_number_prefix',
  defaultCurrency: 'default_currency',
  documentLocale: 'document_locale',
  documentNumbering: 'document_numbering',
  finalizeZeroAmountInvoice: 'finalize_zero_amount_invoice',
  invoiceFooter: 'invoice_footer',
  issuingDateAnchor: 'subscription_invoice_issuing_date_anchor',
  issuingDateAdjustment: 'subscription_invoice_issuing_date_adjustment',
  addressLine1: 'address_line1',
  addressLine2: 'address_line2',
  city: 'city',
  state: 'state',
  country: 'country',
  zipcode: 'zipcode',
  email: 'email',
  legalName: 'legal_name',
  legalNumber: 'legal_number',
  taxIdentificationNumber: 'tax_identification_number',
  emailSettings: 'email_settings',
  euTaxManagement: 'eu_tax_management',
  logoUrl: 'logo_url',
};

function select(db: Db) {
  return db('billing_entities as be')
    .join('organizations as o', 'o.id', 'be.organization_id')
    .select(
      'be.*',
      'o.slug as organization_slug',
      db.raw('COALESCE(be.name, o.name) AS effective_name'),
      db.raw('COALESCE(be.timezone, o.default_timezone) AS effective_timezone'),
      db.raw('COALESCE(be.invoice_grace_period, o.invoice_grace_period) AS effective_grace'),
      db.raw('COALESCE(be.net_payment_term, o.net_payment_term) AS effective_net_payment_term'),
    );
}

function toEntity(r: Record<string, any>): BillingEntityRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    code: r.code,
    isDefault: r.is_default,
    organizationSlug: r.organization_slug,
    name: r.effective_name,
    timezone: r.effective_timezone,
    invoiceGracePeriod: Number(r.effective_grace),
    netPaymentTerm: Number(r.effective_net_payment_term),
    documentNumberPrefix: r.document_number_prefix ?? null,
    defaultCurrency: r.default_currency,
    documentLocale: r.document_locale,
    documentNumbering: r.document_numbering,
    finalizeZeroAmountInvoice: r.finalize_zero_amount_invoice,
    invoiceFooter: r.invoice_footer ?? null,
    issuingDateAnchor: r.subscription_invoice_issuing_date_anchor,
    issuingDateAdjustment: r.subscription_invoice_issuing_date_adjustment,
    addressLine1: r.address_line1 ?? null,
    addressLine2: r.address_line2 ?? null,
    city: r.city ?? null,
    state: r.state ?? null,
    country: r.country ?? null,
    zipcode: r.zipcode ?? null,
    email: r.email ?? null,
    legalName: r.legal_name ?? null,
    legalNumber: r.legal_number ?? null,
    taxIdentificationNumber: r.tax_identification_number ?? null,
    emailSettings: r.email_settings ?? [],
    euTaxManagement: r.eu_tax_management,
    logoUrl: r.logo_url ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The organization's entities, the default first, then by creation. */
export async function listBillingEntities(db: Db, organizationId: string): Promise<BillingEntityRecord[]> {
  const rows = await select(db).where('be.organization_id', organizationId).orderBy([{ column: 'be.is_default', order: 'desc' }, { column: 'be.created_at' }, { column: 'be.id' }]);
  return rows.map(toEntity);
}

export async function getBillingEntityByCode(db: Db, organizationId: string, code: string): Promise<BillingEntityRecord | null> {
  const row = await select(db).where({ 'be.organization_id': organizationId, 'be.code': code }).first();
  return row ? toEntity(row) : null;
}

/** The organization's default entity (every organization has one: the migration and a trigger create it). */
export async function getDefaultBillingEntity(db: Db, organizationId: string): Promise<BillingEntityRecord> {
  const row = await select(db).where({ 'be.organization_id': organizationId, 'be.is_default': true }).first();
  return toEntity(row);
}

export class DuplicateBillingEntityCodeError extends Error {
  constructor(readonly codeValue: string) {
    super(`billing entity ${codeValue} already exists`);
    this.name = 'DuplicateBillingEntityCodeError';
  }
}

function ownValues(s: Partial<BillingEntitySettings>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [k, column] of Object.entries(OWN_COLUMNS)) {
    const v = s[k as keyof BillingEntitySettings];
    if (v === undefined) continue;
    values[column] = k === 'emailSettings' ? JSON.stringify(v) : v;
  }
  return values;
}

/** A second (non-default) entity: every setting on its own row. */
export async function createBillingEntity(
  db: Knex,
  organizationId: string,
  code: string,
  s: Partial<BillingEntitySettings> & Pick<BillingEntitySettings, 'name' | 'timezone' | 'invoiceGracePeriod' | 'netPaymentTerm'>,
): Promise<BillingEntityRecord> {
  // Lago's BillingEntity#generate_document_number_prefix when none is given: `<first 3 of the name>-<last 4 of the
  // id>`, upper-cased (the id is chosen here so the row is written whole in one statement).
  const id = crypto.randomUUID();
  const inserted: { id: string }[] = await db('billing_entities')
    .insert({
      id,
      organization_id: organizationId,
      code,
      is_default: false,
      name: s.name,
      timezone: s.timezone,
      invoice_grace_period: s.invoiceGracePeriod,
      net_payment_term: s.netPaymentTerm,
      ...ownValues(s),
      document_number_prefix: s.documentNumberPrefix ?? `${s.name.slice(0, 3)}-${id.slice(-4)}`.toUpperCase(),
    })
    .onConflict(['organization_id', 'code'])
    .ignore()
    .returning('id');
  if (inserted.length === 0) throw new DuplicateBillingEntityCodeError(code);
  return (await getBillingEntityByCode(db, organizationId, code))!;
}

/**
 * Sets the given fields (undefined: unchanged). On the default entity the organization's own fields are written to
 * the organization row and `taxCodes` (when given) become the organization's default taxes, all in one transaction.
 * Null when no entity has that code. Unknown tax codes: the caller checked them.
 */
export async function updateBillingEntity(
  db: Knex,
  organizationId: string,
  code: string,
  s: Partial<BillingEntitySettings>,
  taxCodes?: string[],
): Promise<BillingEntityRecord | null> {
  return db.transaction(async (trx) => {
    const current = await trx('billing_entities').where({ organization_id: organizationId, code }).forUpdate().first('id', 'is_default');
    if (!current) return null;
    const own = ownValues(s);
    const orgValues: Record<string, unknown> = {};
    for (const [k, column] of Object.entries(ORGANIZATION_FIELDS)) {
      const v = s[k as keyof typeof ORGANIZATION_FIELDS];
      if (v === undefined) continue;
      if (current.is_default) orgValues[column] = v;
      else own[ENTITY_COLUMNS[k as keyof typeof ORGANIZATION_FIELDS]] = v;
    }
    if (Object.keys(orgValues).length > 0) await trx('organizations').where({ id: organizationId }).update(orgValues);
    if (current.is_default && taxCodes !== undefined) {
      await trx('taxes').where({ organization_id: organizationId }).whereNotIn('code', taxCodes).update({ applied_to_organization: false });
      if (taxCodes.length > 0) await trx('taxes').where({ organization_id: organizationId }).whereIn('code', taxCodes).update({ applied_to_organization: true });
    }
    await trx('billing_entities').where({ id: current.id }).update({ ...own, updated_at: trx.fn.now() });
    return getBillingEntityByCode(trx, organizationId, code);
  });
}

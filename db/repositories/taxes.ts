// Taxes (Lago tax objects), the tax codes attached to customers, plans, charges and add-ons, the organization's
// default taxes, and the organization's automatic-tax settings. Every query is scoped by organization_id.
// Rates travel as decimal strings (numeric in Postgres, trailing zeros trimmed: "20", "8.875").
import type { Knex } from 'knex';
import type { Tax, TaxAssignments, TaxRuleSettings } from '../../billing/tax';

type Db = Knex | Knex.Transaction;

export interface TaxRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  description: string | null;
  rate: string;
  appliedToOrganization: boolean;
  createdAt: Date;
}

export interface NewTax {
  code: string;
  name: string;
  rate: string;
  description: string | null;
  appliedToOrganization: boolean;
}

export class DuplicateTaxCodeError extends Error {
  constructor(readonly codeValue: string) {
    super(`tax with code ${codeValue} already exists`);
    this.name = 'DuplicateTaxCodeError';
  }
}

/** The tax codes that do not exist in the organization (for a 422 naming them). */
export class UnknownTaxCodesError extends Error {
  constructor(readonly codes: string[]) {
    super(`unknown tax codes: ${codes.join(', ')}`);
    this.name = 'UnknownTaxCodesError';
  }
}

const COLUMNS = ['id', 'organization_id', 'code', 'name', 'description', 'applied_to_organization', 'created_at'];

function select(db: Db) {
  return db('taxes').select([...COLUMNS.map((c) => `taxes.${c}`), db.raw('trim_scale(taxes.rate)::text as rate')]);
}

function toTax(r: Record<string, any>): TaxRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    code: r.code,
    name: r.name,
    description: r.description ?? null,
    rate: r.rate,
    appliedToOrganization: r.applied_to_organization,
    createdAt: r.created_at,
  };
}

/** The billing engine's view of a tax. */
export function toBillingTax(t: TaxRecord): Tax {
  return { id: t.id, code: t.code, name: t.name, rate: t.rate, description: t.description };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

export async function createTax(db: Db, organizationId: string, t: NewTax): Promise<TaxRecord> {
  try {
    const [row] = await db('taxes')
      .insert({
        organization_id: organizationId,
        code: t.code,
        name: t.name,
        rate: t.rate,
        description: t.description,
        applied_to_organization: t.appliedToOrganization,
      })
      .returning('id');
    return (await getTaxById(db, organizationId, row.id))!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateTaxCodeError(t.code);
    throw err;
  }
}

export async function getTaxById(db: Db, organizationId: string, id: string): Promise<TaxRecord | null> {
  const row = await select(db).where({ 'taxes.organization_id': organizationId, 'taxes.id': id }).first();
  return row ? toTax(row) : null;
}

export async function getTaxByCode(db: Db, organizationId: string, code: string): Promise<TaxRecord | null> {
  const row = await select(db).where({ 'taxes.organization_id': organizationId, 'taxes.code': code }).first();
  return row ? toTax(row) : null;
}

/** Fields to change; `undefined` keeps the stored value. Null when the code does not exist. */
export async function updateTax(db: Db, organizationId: string, code: string, patch: Partial<NewTax>): Promise<TaxRecord | null> {
  const values: Record<string, unknown> = { updated_at: db.fn.now() };
  if (patch.code !== undefined) values.code = patch.code;
  if (patch.name !== undefined) values.name = patch.name;
  if (patch.rate !== undefined) values.rate = patch.rate;
  if (patch.description !== undefined) values.description = patch.description;
  if (patch.appliedToOrganization !== undefined) values.applied_to_organization = patch.appliedToOrganization;
  try {
    const [row] = await db('taxes').where({ organization_id: organizationId, code }).update(values).returning('id');
    return row ? getTaxById(db, organizationId, row.id) : null;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateTaxCodeError(patch.code ?? code);
    throw err;
  }
}

/** Deletes the tax (detached from customers, plans, charges and add-ons by cascade); returns it, or null. */
export async function deleteTax(db: Db, organizationId: string, code: string): Promise<TaxRecord | null> {
  const tax = await getTaxByCode(db, organizationId, code);
  if (!tax) return null;
  await db('taxes').where({ organization_id: organizationId, id: tax.id }).delete();
  return tax;
}

export async function listTaxesPage(db: Db, organizationId: string, page: number, perPage: number): Promise<{ taxes: TaxRecord[]; totalCount: number }> {
  const [{ count }] = await db('taxes').where({ organization_id: organizationId }).count({ count: '*' });
  const rows = await select(db)
    .where({ 'taxes.organization_id': organizationId })
    .orderBy([{ column: 'taxes.created_at', order: 'asc' }, { column: 'taxes.id', order: 'asc' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { taxes: rows.map(toTax), totalCount: Number(count) };
}

/** The taxes for these codes, in the codes' order; throws UnknownTaxCodesError naming the missing ones. */
export async function taxesByCodes(db: Db, organizationId: string, codes: string[]): Promise<TaxRecord[]> {
  const unique = [...new Set(codes)];
  if (unique.length === 0) return [];
  const rows = (await select(db).where({ 'taxes.organization_id': organizationId }).whereIn('taxes.code', unique)).map(toTax);
  const byCode = new Map(rows.map((t) => [t.code, t]));
  const missing = unique.filter((c) => !byCode.has(c));
  if (missing.length > 0) throw new UnknownTaxCodesError(missing);
  return unique.map((c) => byCode.get(c)!);
}

type Owner = 'customer' | 'plan' | 'charge' | 'add_on';
const TABLE: Record<Owner, string> = { customer: 'customer_taxes', plan: 'plan_taxes', charge: 'charge_taxes', add_on: 'add_on_taxes' };

/** Replaces the taxes attached to one customer / plan / charge / add-on (Lago: `tax_codes` replaces the list). */
export async function setTaxes(db: Db, organizationId: string, owner: Owner, ownerId: string, taxIds: string[]): Promise<void> {
  const col = `${owner}_id`;
  await db(TABLE[owner]).where({ organization_id: organizationId, [col]: ownerId }).delete();
  const unique = [...new Set(taxIds)];
  if (unique.length > 0) {
    await db(TABLE[owner]).insert(unique.map((taxId) => ({ organization_id: organizationId, [col]: ownerId, tax_id: taxId })));
  }
}

/** ownerId → its taxes (code order), for the given owners. */
export async function taxesOf(db: Db, organizationId: string, owner: Owner, ownerIds: string[]): Promise<Map<string, TaxRecord[]>> {
  const out = new Map<string, TaxRecord[]>(ownerIds.map((id) => [id, []]));
  if (ownerIds.length === 0) return out;
  const col = `${owner}_id`;
  const rows = await select(db)
    .select(`${TABLE[owner]}.${col} as owner_id`)
    .join(TABLE[owner], `${TABLE[owner]}.tax_id`, 'taxes.id')
    .where({ 'taxes.organization_id': organizationId, [`${TABLE[owner]}.organization_id`]: organizationId })
    .whereIn(`${TABLE[owner]}.${col}`, [...new Set(ownerIds)])
    .orderBy('taxes.code');
  for (const r of rows) out.get(r.owner_id)?.push(toTax(r));
  return out;
}

export async function organizationDefaultTaxes(db: Db, organizationId: string): Promise<TaxRecord[]> {
  const rows = await select(db).where({ 'taxes.organization_id': organizationId, 'taxes.applied_to_organization': true }).orderBy('taxes.code');
  return rows.map(toTax);
}

/** The taxes at every level of Lago's precedence for one invoice's customer, plan and charges. */
export async function loadTaxAssignments(
  db: Db,
  organizationId: string,
  refs: { customerId: string; planId: string; chargeIds: string[] },
): Promise<TaxAssignments> {
  // One after the other: `db` is often a transaction (one connection), where concurrent queries are not allowed.
  const customer = await taxesOf(db, organizationId, 'customer', [refs.customerId]);
  const plan = await taxesOf(db, organizationId, 'plan', [refs.planId]);
  const charges = await taxesOf(db, organizationId, 'charge', refs.chargeIds);
  const org = await organizationDefaultTaxes(db, organizationId);
  const chargeTaxes: Record<string, Tax[]> = {};
  for (const [id, list] of charges) chargeTaxes[id] = list.map(toBillingTax);
  return {
    chargeTaxes,
    planTaxes: (plan.get(refs.planId) ?? []).map(toBillingTax),
    customerTaxes: (customer.get(refs.customerId) ?? []).map(toBillingTax),
    organizationTaxes: org.map(toBillingTax),
  };
}

export interface TaxSettingsRecord {
  automaticTaxesEnabled: boolean;
  sellerCountry: string | null;
  usStateRates: Record<string, string>;
  countryRates: Record<string, string>;
  /** failed13: the external tax engine the organization's invoices are taxed by at finalization; null = none. */
  taxProvider?: TaxProviderSettings | null;
}

/** The engine as the API shows it (the key is never read back: its last 4 characters). */
export interface TaxProviderSettings {
  provider: 'anrok';
  /** Lago's integration code (named in customer.tax_provider_error webhooks). */
  code: string;
  apiUrl: string;
  apiKeyLast4: string;
}

/** The engine as the worker calls it (activities/taxes.ts). */
export interface TaxProviderConnection {
  provider: 'anrok';
  code: string;
  apiUrl: string;
  apiKey: string;
}

function connectionOf(row: Record<string, any> | undefined): TaxProviderConnection | null {
  if (!row?.tax_provider) return null;
  return { provider: row.tax_provider, code: row.tax_provider_code, apiUrl: row.tax_provider_api_url, apiKey: row.tax_provider_api_key };
}

/** The connection as the API shows it: never the key, its last four characters. */
function taxProviderOf(row: Record<string, any> | undefined): TaxProviderSettings | null {
  const c = connectionOf(row);
  if (!c) return null;
  const { apiKey, ...shown } = c;
  return { ...shown, apiKeyLast4: String(apiKey).slice(-4) };
}

export async function getTaxProviderConnection(db: Db, organizationId: string): Promise<TaxProviderConnection | null> {
  return connectionOf(await db('organization_tax_settings').where({ organization_id: organizationId }).first());
}

/** Sets (or with null removes) the organization's tax engine; the other settings are kept. */
export async function putTaxProviderConnection(db: Db, organizationId: string, c: TaxProviderConnection | null): Promise<void> {
  const values = {
    tax_provider: c?.provider ?? null,
    tax_provider_code: c?.code ?? null,
    tax_provider_api_url: c?.apiUrl ?? null,
    tax_provider_api_key: c?.apiKey ?? null,
    updated_at: db.fn.now(),
  };
  await db('organization_tax_settings').insert({ organization_id: organizationId, ...values }).onConflict('organization_id').merge(values);
}

export async function getTaxSettings(db: Db, organizationId: string): Promise<TaxSettingsRecord> {
  return settingsOf(await db('organization_tax_settings').where({ organization_id: organizationId }).first());
}

/** The organization's tax settings and its engine's connection, from one read (the finalization's taxes step). */
export async function getTaxSettingsAndConnection(db: Db, organizationId: string): Promise<{ settings: TaxSettingsRecord; connection: TaxProviderConnection | null }> {
  const row = await db('organization_tax_settings').where({ organization_id: organizationId }).first();
  return { settings: settingsOf(row), connection: connectionOf(row) };
}

function settingsOf(row: Record<string, any> | undefined): TaxSettingsRecord {
  return {
    automaticTaxesEnabled: row?.automatic_taxes_enabled ?? false,
    sellerCountry: row?.seller_country ? String(row.seller_country).trim() : null,
    usStateRates: row?.us_state_rates ?? {},
    countryRates: row?.country_rates ?? {},
    taxProvider: taxProviderOf(row),
  };
}

export async function putTaxSettings(db: Db, organizationId: string, s: TaxSettingsRecord): Promise<TaxSettingsRecord> {
  const values = {
    automatic_taxes_enabled: s.automaticTaxesEnabled,
    seller_country: s.sellerCountry,
    us_state_rates: JSON.stringify(s.usStateRates),
    country_rates: JSON.stringify(s.countryRates),
    updated_at: db.fn.now(),
  };
  await db('organization_tax_settings').insert({ organization_id: organizationId, ...values }).onConflict('organization_id').merge(values);
  return getTaxSettings(db, organizationId);
}

/** The rules' settings, or null when the organization has not enabled automatic taxes (or has no seller country). */
export function ruleSettings(s: TaxSettingsRecord): TaxRuleSettings | null {
  if (!s.automaticTaxesEnabled || !s.sellerCountry) return null;
  return { sellerCountry: s.sellerCountry, usStateRates: s.usStateRates, countryRates: s.countryRates };
}

// Add-ons (Lago add_ons): a priced item sold on one-off invoices. Unique code among the organization's live
// add-ons; deletion is soft (fees of issued invoices keep pointing at it). Taxes: add_on_taxes (db/repositories/taxes.ts).
import type { Knex } from 'knex';
import { isUniqueViolation } from './errors';
import { setTaxes, taxesOf, type TaxRecord } from './taxes';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export interface AddOnRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  invoiceDisplayName: string | null;
  description: string | null;
  amountCents: number;
  amountCurrency: string;
  createdAt: Date;
  taxes: TaxRecord[];
}

export interface NewAddOn {
  code: string;
  name: string;
  invoiceDisplayName: string | null;
  description: string | null;
  amountCents: number;
  amountCurrency: string;
}

export class DuplicateAddOnCodeError extends Error {
  constructor(readonly codeValue: string) {
    super(`add-on with code ${codeValue} already exists`);
    this.name = 'DuplicateAddOnCodeError';
  }
}

function toAddOn(r: Record<string, any>, taxes: TaxRecord[]): AddOnRecord {
  const amount = minorUnits(r.amount_cents, 'add-on amount_cents');
  return {
    id: r.id,
    organizationId: r.organization_id,
    code: r.code,
    name: r.name,
    invoiceDisplayName: r.invoice_display_name ?? null,
    description: r.description ?? null,
    amountCents: amount,
    amountCurrency: String(r.amount_currency).trim(),
    createdAt: r.created_at,
    taxes,
  };
}

async function withTaxes(db: Db, organizationId: string, rows: Record<string, any>[]): Promise<AddOnRecord[]> {
  const taxes = await taxesOf(db, organizationId, 'add_on', rows.map((r) => r.id));
  return rows.map((r) => toAddOn(r, taxes.get(r.id) ?? []));
}

function row(a: Partial<NewAddOn>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (a.code !== undefined) out.code = a.code;
  if (a.name !== undefined) out.name = a.name;
  if (a.invoiceDisplayName !== undefined) out.invoice_display_name = a.invoiceDisplayName;
  if (a.description !== undefined) out.description = a.description;
  if (a.amountCents !== undefined) out.amount_cents = a.amountCents;
  if (a.amountCurrency !== undefined) out.amount_currency = a.amountCurrency;
  return out;
}

export async function getAddOnByCode(db: Db, organizationId: string, code: string): Promise<AddOnRecord | null> {
  const r = await db('add_ons').where({ organization_id: organizationId, code }).whereNull('deleted_at').first();
  return r ? (await withTaxes(db, organizationId, [r]))[0]! : null;
}

export async function getAddOnsByCodes(db: Db, organizationId: string, codes: string[]): Promise<Map<string, AddOnRecord>> {
  if (codes.length === 0) return new Map();
  const rows = await db('add_ons').where({ organization_id: organizationId }).whereIn('code', [...new Set(codes)]).whereNull('deleted_at');
  return new Map((await withTaxes(db, organizationId, rows)).map((a) => [a.code, a]));
}

/** Creates an add-on and attaches its taxes in one transaction. */
export async function createAddOn(db: Knex, organizationId: string, a: NewAddOn, taxIds: string[]): Promise<AddOnRecord> {
  try {
    return await db.transaction(async (trx) => {
      const [r] = await trx('add_ons').insert({ organization_id: organizationId, ...row(a) }).returning('id');
      await setTaxes(trx, organizationId, 'add_on', r.id, taxIds);
      return (await getAddOnByCode(trx, organizationId, a.code))!;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateAddOnCodeError(a.code);
    throw err;
  }
}

export async function updateAddOn(db: Knex, organizationId: string, code: string, patch: Partial<NewAddOn>, taxIds: string[] | undefined): Promise<AddOnRecord | null> {
  try {
    return await db.transaction(async (trx) => {
      const current = await getAddOnByCode(trx, organizationId, code);
      if (!current) return null;
      const changes = row(patch);
      if (Object.keys(changes).length > 0) await trx('add_ons').where({ organization_id: organizationId, id: current.id }).update({ ...changes, updated_at: trx.fn.now() });
      if (taxIds !== undefined) await setTaxes(trx, organizationId, 'add_on', current.id, taxIds);
      return getAddOnByCode(trx, organizationId, patch.code ?? code);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateAddOnCodeError(patch.code ?? code);
    throw err;
  }
}

export async function deleteAddOn(db: Db, organizationId: string, code: string): Promise<AddOnRecord | null> {
  const current = await getAddOnByCode(db, organizationId, code);
  if (!current) return null;
  await db('add_ons').where({ organization_id: organizationId, id: current.id }).update({ deleted_at: db.fn.now(), updated_at: db.fn.now() });
  return current;
}

export async function listAddOnsPage(db: Db, organizationId: string, page: number, perPage: number): Promise<{ addOns: AddOnRecord[]; totalCount: number }> {
  const [{ count }] = await db('add_ons').where({ organization_id: organizationId }).whereNull('deleted_at').count({ count: '*' });
  const rows = await db('add_ons')
    .where({ organization_id: organizationId })
    .whereNull('deleted_at')
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { addOns: await withTaxes(db, organizationId, rows), totalCount: Number(count) };
}

/** add-on id → code for the add-on fees of these invoices (deleted add-ons included: issued fees keep their code). */
export async function addOnCodesOfInvoices(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, string>> {
  if (invoiceIds.length === 0) return new Map();
  const rows: { id: string; code: string }[] = await db('add_ons as a')
    .join('fees as f', 'f.add_on_id', 'a.id')
    .where({ 'a.organization_id': organizationId, 'f.organization_id': organizationId })
    .whereIn('f.invoice_id', invoiceIds)
    .distinct('a.id', 'a.code');
  return new Map(rows.map((r) => [r.id, r.code]));
}

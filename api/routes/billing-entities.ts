// Lago 1.51's billing entities (ops13g, issue 13): GET /billing_entities, POST /billing_entities,
// GET /billing_entities/:code, PUT /billing_entities/:code (db/repositories/billing-entities.ts).
//
// The default entity IS the organization as it invoices today: its name, timezone, grace period and net payment
// term are the organization's (PUT on it changes GET /organizations and the invoicing that reads them), its taxes
// are the organization's default taxes (`tax_codes` replaces them), its number prefix is the organization's.
// Every entity issues its customers' invoices (entity13): customers carry a billing_entity_code, each invoice is
// numbered from its entity's prefix and sequence (db/repositories/invoice-numbering.ts), its PDF's issuer block is
// the entity's, and the entity's timezone, grace period and net payment term apply to its customers. Invoice
// numbers are unique per organization, so two entities may not share a document_number_prefix (422
// value_already_exist). POST and PUT answer Lago's documented bare object and the `billing_entity` envelope
// lago-api sends, so both readers work.
import { Router } from 'express';
import {
  createBillingEntity,
  DuplicateBillingEntityCodeError,
  getBillingEntityByCode,
  getDefaultBillingEntity,
  listBillingEntities,
  updateBillingEntity,
  type BillingEntityRecord,
  type BillingEntitySettings,
} from '../../db/repositories/billing-entities';
import { organizationDocumentPrefix } from '../../db/repositories/invoice-numbering';
import { organizationDefaultTaxes } from '../../db/repositories/taxes';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { BillingEntityCreateBody, BillingEntityUpdateBody, type BillingEntityCodesQuery, type BillingEntityInput } from '../schemas/billing-entities';
import { iso, parseBody } from '../schemas/common';
import { resolveTaxCodes } from './tax-codes';
import { serializeTax } from './taxes';

/** Lago's BillingEntities::ResolveService: the entity of that code, the default one for null; 404 when unknown. */
export async function resolveBillingEntity(db: RouteContext['db'], organizationId: string, code: string | null): Promise<BillingEntityRecord> {
  const e = code === null ? await getDefaultBillingEntity(db, organizationId) : await getBillingEntityByCode(db, organizationId, code);
  if (!e) throw notFound('billing_entity');
  return e;
}

/** Lago's list filter `billing_entity_codes[]`: every code must be one of the organization's entities, else 404. */
export async function knownBillingEntityCodes(db: RouteContext['db'], organizationId: string, q: BillingEntityCodesQuery): Promise<string[] | undefined> {
  const codes = [...(q.billing_entity_codes ?? []), ...(q['billing_entity_codes[]'] ?? [])];
  if (codes.length === 0) return undefined;
  const unique = [...new Set(codes)];
  const entities = await listBillingEntities(db, organizationId);
  if (!unique.every((c) => entities.some((e) => e.code === c))) throw notFound('billing_entity');
  return unique;
}

export function serializeBillingEntity(e: BillingEntityRecord) {
  return {
    lago_id: e.id,
    code: e.code,
    name: e.name,
    default_currency: e.defaultCurrency,
    document_locale: e.documentLocale,
    document_numbering: e.documentNumbering,
    document_number_prefix: effectivePrefix(e),
    finalize_zero_amount_invoice: e.finalizeZeroAmountInvoice,
    invoice_footer: e.invoiceFooter,
    invoice_grace_period: e.invoiceGracePeriod,
    subscription_invoice_issuing_date_anchor: e.issuingDateAnchor,
    subscription_invoice_issuing_date_adjustment: e.issuingDateAdjustment,
    is_default: e.isDefault,
    net_payment_term: e.netPaymentTerm,
    address_line1: e.addressLine1,
    address_line2: e.addressLine2,
    city: e.city,
    state: e.state,
    country: e.country,
    zipcode: e.zipcode,
    email: e.email,
    legal_name: e.legalName,
    legal_number: e.legalNumber,
    tax_identification_number: e.taxIdentificationNumber,
    timezone: e.timezone,
    email_settings: e.emailSettings,
    eu_tax_management: e.euTaxManagement,
    logo_url: e.logoUrl,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

async function extended(ctx: RouteContext, e: BillingEntityRecord) {
  const taxes = e.isDefault ? await organizationDefaultTaxes(ctx.db, e.organizationId) : [];
  return { ...serializeBillingEntity(e), taxes: taxes.map(serializeTax), selected_invoice_custom_sections: [] };
}

function effectivePrefix(e: BillingEntityRecord): string | null {
  return e.isDefault ? organizationDocumentPrefix(e.organizationSlug) : e.documentNumberPrefix;
}

/** Invoice numbers are unique per organization: another entity's prefix → 422 value_already_exist. */
async function checkPrefixFree(ctx: RouteContext, organizationId: string, prefix: string | null | undefined, code: string): Promise<void> {
  if (prefix === undefined || prefix === null) return;
  const taken = (await listBillingEntities(ctx.db, organizationId)).some((e) => e.code !== code && effectivePrefix(e)?.toUpperCase() === prefix);
  if (taken) throw validationError({ document_number_prefix: ['value_already_exist'] });
}

function settingsOf(b: BillingEntityInput): Partial<BillingEntitySettings> {
  const c = b.billing_configuration ?? {};
  const s: Partial<BillingEntitySettings> = {
    name: b.name,
    timezone: b.timezone,
    invoiceGracePeriod: c.invoice_grace_period,
    netPaymentTerm: b.net_payment_term,
    // Lago upper-cases the prefix.
    documentNumberPrefix: b.document_number_prefix?.toUpperCase() ?? b.document_number_prefix,
    defaultCurrency: b.default_currency,
    documentLocale: c.document_locale,
    documentNumbering: b.document_numbering,
    finalizeZeroAmountInvoice: b.finalize_zero_amount_invoice,
    invoiceFooter: c.invoice_footer,
    issuingDateAnchor: c.subscription_invoice_issuing_date_anchor,
    issuingDateAdjustment: c.subscription_invoice_issuing_date_adjustment,
    addressLine1: b.address_line1,
    addressLine2: b.address_line2,
    city: b.city,
    state: b.state,
    country: b.country,
    zipcode: b.zipcode,
    email: b.email,
    legalName: b.legal_name,
    legalNumber: b.legal_number,
    taxIdentificationNumber: b.tax_identification_number,
    emailSettings: b.email_settings,
    euTaxManagement: b.eu_tax_management,
    logoUrl: b.logo,
  };
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Partial<BillingEntitySettings>;
}

export function billingEntityRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/billing_entities', async (_req, res) => {
    const entities = await listBillingEntities(ctx.db, orgId(res));
    res.json({ billing_entities: entities.map(serializeBillingEntity) });
  });

  r.post('/billing_entities', async (req, res) => {
    const organizationId = orgId(res);
    const { billing_entity: b } = parseBody(BillingEntityCreateBody, req.body);
    // A new entity starts from Lago's defaults (UTC, no grace period, no payment term) where the body is silent.
    const s = settingsOf(b);
    await checkPrefixFree(ctx, organizationId, s.documentNumberPrefix, b.code);
    try {
      const e = await createBillingEntity(ctx.db, organizationId, b.code, {
        ...s,
        name: b.name,
        timezone: s.timezone ?? 'UTC',
        invoiceGracePeriod: s.invoiceGracePeriod ?? 0,
        netPaymentTerm: s.netPaymentTerm ?? 0,
      });
      const body = serializeBillingEntity(e);
      res.json({ ...body, billing_entity: body });
    } catch (err) {
      if (err instanceof DuplicateBillingEntityCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/billing_entities/:code', async (req, res) => {
    const e = await getBillingEntityByCode(ctx.db, orgId(res), req.params.code);
    if (!e) throw notFound('billing_entity');
    res.json({ billing_entity: await extended(ctx, e) });
  });

  r.put('/billing_entities/:code', async (req, res) => {
    const organizationId = orgId(res);
    const target = await getBillingEntityByCode(ctx.db, organizationId, req.params.code);
    if (!target) throw notFound('billing_entity');
    const { billing_entity: b } = parseBody(BillingEntityUpdateBody, req.body);
    // The default entity's numbers are the organization's (prefix from its slug, db/repositories/invoices.ts).
    if (target.isDefault && b.document_number_prefix !== undefined) throw validationError({ document_number_prefix: ['value_is_immutable'] });
    // Lago: an entity's prefix is 1–10 characters once set (no null on update).
    if (b.document_number_prefix === null) throw validationError({ document_number_prefix: ['value_is_mandatory'] });
    await checkPrefixFree(ctx, organizationId, settingsOf(b).documentNumberPrefix, target.code);
    if (b.tax_codes !== undefined) {
      // Only the default entity has taxes today (the organization's default taxes); another one issues nothing.
      if (!target.isDefault) throw validationError({ tax_codes: ['not_supported_on_secondary_entity'] });
      await resolveTaxCodes(ctx.db, organizationId, b.tax_codes, 'tax_codes');
    }
    const e = await updateBillingEntity(ctx.db, organizationId, target.code, settingsOf(b), b.tax_codes);
    if (!e) throw notFound('billing_entity');
    const body = await extended(ctx, e);
    res.json({ ...body, billing_entity: body });
  });

  return r;
}


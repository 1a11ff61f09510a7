// Lago's /taxes (create, list, get by code, update, delete) and Meterline's automatic-tax settings
// (GET/PUT /tax_settings, an extension: Lago configures EU tax management on billing entities).
import { Router } from 'express';
import {
  createTax,
  deleteTax,
  DuplicateTaxCodeError,
  getTaxByCode,
  getTaxSettings,
  putTaxProviderConnection,
  listTaxesPage,
  putTaxSettings,
  updateTax,
  type TaxRecord,
  type TaxSettingsRecord,
} from '../../db/repositories/taxes';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { TaxCreateBody, TaxSettingsBody, TaxUpdateBody } from '../schemas/taxes';

/** Lago TaxObject. `rate` is a JSON number there: written from the stored decimal string (≤ 8 significant digits, exact). */
export function serializeTax(t: TaxRecord) {
  return {
    lago_id: t.id,
    name: t.name,
    code: t.code,
    rate: Number(t.rate),
    description: t.description,
    applied_to_organization: t.appliedToOrganization,
    created_at: iso(t.createdAt),
  };
}

function serializeSettings(s: TaxSettingsRecord) {
  return {
    automatic_taxes_enabled: s.automaticTaxesEnabled,
    seller_country: s.sellerCountry,
    us_state_rates: s.usStateRates,
    country_rates: s.countryRates,
    tax_provider: s.taxProvider ? { provider: s.taxProvider.provider, code: s.taxProvider.code, api_url: s.taxProvider.apiUrl, api_key_last4: s.taxProvider.apiKeyLast4 } : null,
  };
}

export function taxRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/taxes', async (req, res) => {
    const input = parseBody(TaxCreateBody, req.body).tax;
    try {
      const tax = await createTax(ctx.db, orgId(res), {
        code: input.code,
        name: input.name,
        rate: input.rate,
        description: input.description ?? null,
        appliedToOrganization: input.applied_to_organization ?? false,
      });
      res.status(200).json({ tax: serializeTax(tax) });
    } catch (err) {
      if (err instanceof DuplicateTaxCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/taxes', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { taxes, totalCount } = await listTaxesPage(ctx.db, orgId(res), page, per_page);
    res.json({ taxes: taxes.map(serializeTax), meta: paginationMeta(page, per_page, totalCount) });
  });

  r.get('/taxes/:code', async (req, res) => {
    const tax = await getTaxByCode(ctx.db, orgId(res), req.params.code);
    if (!tax) throw notFound('tax');
    res.json({ tax: serializeTax(tax) });
  });

  r.put('/taxes/:code', async (req, res) => {
    const input = parseBody(TaxUpdateBody, req.body).tax;
    try {
      const tax = await updateTax(ctx.db, orgId(res), req.params.code, {
        ...(input.code !== undefined ? { code: input.code } : {}),
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.rate !== undefined ? { rate: input.rate } : {}),
        ...(input.description !== undefined ? { description: input.description ?? null } : {}),
        ...(input.applied_to_organization !== undefined ? { appliedToOrganization: input.applied_to_organization } : {}),
      });
      if (!tax) throw notFound('tax');
      res.json({ tax: serializeTax(tax) });
    } catch (err) {
      if (err instanceof DuplicateTaxCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.delete('/taxes/:code', async (req, res) => {
    const tax = await deleteTax(ctx.db, orgId(res), req.params.code);
    if (!tax) throw notFound('tax');
    res.json({ tax: serializeTax(tax) });
  });

  r.get('/tax_settings', async (_req, res) => {
    res.json({ tax_settings: serializeSettings(await getTaxSettings(ctx.db, orgId(res))) });
  });

  r.put('/tax_settings', async (req, res) => {
    const s = parseBody(TaxSettingsBody, req.body).tax_settings;
    const p = s.tax_provider;
    const saved = await ctx.db.transaction(async (trx) => {
      if (p !== undefined) await putTaxProviderConnection(trx, orgId(res), p && { provider: p.provider, code: p.code, apiUrl: p.api_url, apiKey: p.api_key });
      return putTaxSettings(trx, orgId(res), {
        automaticTaxesEnabled: s.automatic_taxes_enabled,
        sellerCountry: s.seller_country ?? null,
        usStateRates: s.us_state_rates,
        countryRates: s.country_rates,
      });
    });
    res.json({ tax_settings: serializeSettings(saved) });
  });

  return r;
}

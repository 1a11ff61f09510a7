// Payment collection settings through the API (Meterline extension; Lago configures them in its UI), so the
// system can be set up without touching Postgres:
//   PUT    /payment_providers/stripe      connect Stripe (secret key, webhook signing secret, redirect URL)
//   GET    /payment_providers             the connections (secrets never read back: the key's last 4 characters)
//   DELETE /payment_providers/stripe      disconnect: invoices then wait for manual payments
//   POST/GET /dunning_campaigns, GET/PUT/DELETE /dunning_campaigns/:code
// A campaign applies to invoices finalized after it is the default (applied_to_organization); an invoice already
// in collection keeps the campaign it started with (its workflow holds it).
import { Router } from 'express';
import {
  createDunningCampaign,
  deleteDunningCampaign,
  deleteProviderConnection,
  DuplicateDunningCampaignError,
  getDunningCampaign,
  listDunningCampaigns,
  listProviderConnections,
  putProviderConnection,
  updateDunningCampaign,
  type DunningCampaignRecord,
  type ProviderConnection,
} from '../../db/repositories/payment-settings';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { iso, parseBody } from '../schemas/common';
import { DunningCampaignCreateBody, DunningCampaignUpdateBody, StripeProviderBody } from '../schemas/payment-settings';

export function serializeProviderConnection(c: ProviderConnection) {
  return {
    code: c.code,
    payment_provider: c.provider,
    secret_key_last4: c.secretKeyLast4,
    webhook_secret_configured: c.webhookSecretConfigured,
    success_redirect_url: c.successRedirectUrl,
    created_at: iso(c.createdAt),
  };
}

export function serializeDunningCampaign(c: DunningCampaignRecord) {
  return {
    lago_id: c.id,
    code: c.code,
    name: c.name,
    max_attempts: c.maxAttempts,
    days_between_attempts: c.daysBetweenAttempts,
    thresholds: c.thresholds.map((t) => ({ currency: t.currency, amount_cents: t.amountCents })),
    consequence: c.consequence,
    applied_to_organization: c.appliedToOrganization,
    created_at: iso(c.createdAt),
  };
}

export function paymentSettingsRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.put('/payment_providers/stripe', async (req, res) => {
    const p = parseBody(StripeProviderBody, req.body).payment_provider;
    const connection = await putProviderConnection(ctx.db, orgId(res), {
      code: p.code ?? 'stripe',
      secretKey: p.secret_key,
      webhookSecret: p.webhook_secret ?? null,
      successRedirectUrl: p.success_redirect_url ?? null,
    });
    res.json({ payment_provider: serializeProviderConnection(connection) });
  });

  r.get('/payment_providers', async (_req, res) => {
    const list = await listProviderConnections(ctx.db, orgId(res));
    res.json({ payment_providers: list.map(serializeProviderConnection) });
  });

  r.delete('/payment_providers/stripe', async (_req, res) => {
    const [current] = await listProviderConnections(ctx.db, orgId(res));
    const deleted = current ? await deleteProviderConnection(ctx.db, orgId(res), current.code) : null;
    if (!deleted) throw notFound('payment_provider');
    res.json({ payment_provider: serializeProviderConnection(deleted) });
  });

  r.post('/dunning_campaigns', async (req, res) => {
    const c = parseBody(DunningCampaignCreateBody, req.body).dunning_campaign;
    try {
      const created = await createDunningCampaign(ctx.db, orgId(res), {
        code: c.code,
        name: c.name,
        maxAttempts: c.max_attempts,
        daysBetweenAttempts: c.days_between_attempts,
        thresholds: c.thresholds.map((t) => ({ currency: t.currency, amountCents: t.amount_cents })),
        consequence: c.consequence ?? 'mark_uncollectible',
        appliedToOrganization: c.applied_to_organization ?? false,
      });
      res.json({ dunning_campaign: serializeDunningCampaign(created) });
    } catch (err) {
      if (err instanceof DuplicateDunningCampaignError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/dunning_campaigns', async (_req, res) => {
    const list = await listDunningCampaigns(ctx.db, orgId(res));
    res.json({ dunning_campaigns: list.map(serializeDunningCampaign) });
  });

  r.get('/dunning_campaigns/:code', async (req, res) => {
    const c = await getDunningCampaign(ctx.db, orgId(res), String(req.params.code));
    if (!c) throw notFound('dunning_campaign');
    res.json({ dunning_campaign: serializeDunningCampaign(c) });
  });

  r.put('/dunning_campaigns/:code', async (req, res) => {
    const c = parseBody(DunningCampaignUpdateBody, req.body).dunning_campaign;
    try {
      const updated = await updateDunningCampaign(ctx.db, orgId(res), String(req.params.code), {
        ...(c.code !== undefined ? { code: c.code } : {}),
        ...(c.name !== undefined ? { name: c.name } : {}),
        ...(c.max_attempts !== undefined ? { maxAttempts: c.max_attempts } : {}),
        ...(c.days_between_attempts !== undefined ? { daysBetweenAttempts: c.days_between_attempts } : {}),
        ...(c.thresholds !== undefined ? { thresholds: c.thresholds.map((t) => ({ currency: t.currency, amountCents: t.amount_cents })) } : {}),
        ...(c.consequence !== undefined ? { consequence: c.consequence } : {}),
        ...(c.applied_to_organization !== undefined ? { appliedToOrganization: c.applied_to_organization } : {}),
      });
      if (!updated) throw notFound('dunning_campaign');
      res.json({ dunning_campaign: serializeDunningCampaign(updated) });
    } catch (err) {
      if (err instanceof DuplicateDunningCampaignError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.delete('/dunning_campaigns/:code', async (req, res) => {
    const c = await deleteDunningCampaign(ctx.db, orgId(res), String(req.params.code));
    if (!c) throw notFound('dunning_campaign');
    res.json({ dunning_campaign: serializeDunningCampaign(c) });
  });

  return r;
}

// Customer portal (issue 13):
// - GET /api/v1/customers/:external_customer_id/portal_url (API key): Lago's `{customer: {portal_url}}`, a signed
//   link valid PORTAL_LINK_TTL_SECONDS (1 hour), `<public base>/portal#<token>`. The token travels in the URL's
//   fragment, which browsers never send to a server: it is in no access log, proxy log or Referer header.
// - GET /portal (+ /portal/assets/*): a static page (plain HTML/CSS/JS in api/portal/static/, no build step) that
//   reads the token from the fragment and calls the portal JSON API with `Authorization: Bearer <token>`:
//   - GET  /portal/api/summary: the customer, its active subscriptions' open-period usage and amount (computed by
//     the same computeCurrentUsage as GET /customers/:id/current_usage), its wallets and top-up requests;
//   - GET  /portal/api/invoices: its finalized invoices;
//   - GET  /portal/api/invoices/:lago_id/file: an invoice's PDF (the same renderer and store as
//     GET /api/v1/invoices/:lago_id/file), only for the token's customer;
//   - POST /portal/api/top_up_requests: records a wallet top-up request (idempotent on its request_key).
//   A missing, tampered or foreign token is 403 `portal_link_invalid`, an expired one 403 `portal_link_expired`,
//   each with a message a person can read.
import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import { getInvoice, listInvoices } from '../../db/repositories/invoices';
import { invoicePaymentFields } from '../../db/repositories/payments';
import {
  ensurePortalSecret,
  getPortalCustomer,
  getPortalSecret,
  listTopUpRequests,
  portalWalletBalances,
  recordTopUpRequest,
  type PortalCustomer,
  type TopUpRequestRecord,
} from '../../db/repositories/portal';
import { listSubscriptions } from '../../db/repositories/subscriptions';
import { ensureInvoiceDocument } from '../../documents/invoice-document';
import { defaultDocumentStore, type DocumentStore } from '../../documents/storage';
import { orgId } from '../auth';
import { addDetail, notFound, validationError } from '../errors';
import { currencyCode, parseBody } from '../schemas/common';
import { publicBaseUrl } from '../services/invoice-extras';
import { computeCurrentUsage, type PlanCache } from '../services/current-usage';
import { claimedOrganization, PORTAL_LINK_TTL_SECONDS, signPortalToken, verifyPortalToken } from './token';

export interface PortalDeps {
  db: Knex;
  plans?: PlanCache;
  store?: DocumentStore;
  /** Wall clock (tests only): the instant links are issued / checked and usage is computed at. */
  now?: () => Date;
  linkTtlSeconds?: number;
}

const MESSAGES = {
  portal_link_invalid: 'This portal link is not valid. Open the portal again from the application that sent you here.',
  portal_link_expired: 'This portal link has expired. Open the portal again from the application that sent you here to get a new link.',
} as const;

function nowOf(deps: PortalDeps): Date {
  return deps.now ? deps.now() : new Date();
}

/** GET /customers/:external_customer_id/portal_url, mounted in /api/v1 (API key). */
export function portalUrlRoutes(deps: PortalDeps): express.Router {
  const r = express.Router();
  r.get('/customers/:external_customer_id/portal_url', async (req, res) => {
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(deps.db, organizationId, req.params.external_customer_id);
    if (!customer) throw notFound('customer');
    const secret = await ensurePortalSecret(deps.db, organizationId);
    const expiresAt = Math.floor(nowOf(deps).getTime() / 1000) + (deps.linkTtlSeconds ?? PORTAL_LINK_TTL_SECONDS);
    const token = signPortalToken(secret, { organizationId, customerId: customer.id, expiresAt });
    res.json({ customer: { portal_url: `${publicBaseUrl(req)}/portal#${token}` } });
  });
  return r;
}

const STATIC_DIR = path.join(__dirname, 'static');
const ASSETS: Record<string, string> = { 'portal.css': 'text/css', 'portal.js': 'application/javascript' };
/** The page loads only its own script and styles, and talks only to its own origin. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

function bearer(req: Request): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
  return m ? m[1]! : null;
}

interface PortalLocals {
  portalCustomer: PortalCustomer;
  portalExpiresAt: number;
}

function portalAuth(deps: PortalDeps): RequestHandler {
  return async (req, res, next) => {
    const refuse = (code: keyof typeof MESSAGES) => {
      res.status(403).set('Cache-Control', 'no-store').json({ status: 403, error: 'Forbidden', code, message: MESSAGES[code] });
    };
    const token = bearer(req);
    const organizationId = token ? claimedOrganization(token) : null;
    if (!token || !organizationId || !/^[0-9a-f-]{36}$/i.test(organizationId)) return refuse('portal_link_invalid');
    const check = verifyPortalToken(token, await getPortalSecret(deps.db, organizationId), Math.floor(nowOf(deps).getTime() / 1000));
    if (!check.ok) return refuse(check.reason === 'expired' ? 'portal_link_expired' : 'portal_link_invalid');
    const customer = await getPortalCustomer(deps.db, check.claims.organizationId, check.claims.customerId);
    if (!customer) return refuse('portal_link_invalid');
    (res.locals as PortalLocals).portalCustomer = customer;
    (res.locals as PortalLocals).portalExpiresAt = check.claims.expiresAt;
    res.set('Cache-Control', 'no-store');
    next();
  };
}

const TopUpRequestBody = z.object({
  top_up_request: z.object({
    amount_cents: z.number().int().refine((n) => Number.isSafeInteger(n) && n > 0 && n <= 100_000_000_00, 'value_is_out_of_range'),
    currency: currencyCode.optional(),
    wallet_id: z.string().max(100).nullable().optional(),
    request_key: z.string().min(1).max(100),
  }),
});

function serializeTopUp(t: TopUpRequestRecord) {
  return { lago_id: t.id, lago_wallet_id: t.walletId, amount_cents: t.amountCents, currency: t.currency, status: t.status, request_key: t.requestKey, created_at: t.createdAt };
}

/** The portal page and its JSON API, mounted at the app's root (outside /api/v1: the link's token authenticates). */
export function portalRoutes(deps: PortalDeps): express.Router {
  const r = express.Router();
  const store = deps.store ?? defaultDocumentStore();
  const page = fs.readFileSync(path.join(STATIC_DIR, 'portal.html'));

  r.get('/portal', (_req, res) => {
    res
      .status(200)
      .type('html')
      .set('Content-Security-Policy', PAGE_CSP)
      .set('Referrer-Policy', 'no-referrer')
      .set('X-Content-Type-Options', 'nosniff')
      .set('Cache-Control', 'no-store')
      .send(page);
  });
  r.get('/portal/assets/:file', (req, res, next) => {
    const type = ASSETS[req.params.file];
    if (!type) return next();
    res.type(type).set('X-Content-Type-Options', 'nosniff').sendFile(path.join(STATIC_DIR, req.params.file));
  });

  const api = express.Router();
  api.use(portalAuth(deps));
  api.get('/summary', async (_req, res) => {
    const { portalCustomer: customer, portalExpiresAt } = res.locals as PortalLocals;
    const org = customer.organizationId;
    const now = nowOf(deps).toISOString();
    const { subscriptions } = await listSubscriptions(deps.db, org, { externalCustomerId: customer.externalId, statuses: ['active'], page: 1, perPage: 100 });
    const usage = await Promise.all(
      subscriptions.map(async (s) => {
        const u = await computeCurrentUsage(deps.db, org, { externalCustomerId: customer.externalId, externalSubscriptionId: s.externalId }, { now, ...(deps.plans ? { plans: deps.plans } : {}) });
        return { external_id: s.externalId, name: s.name, plan_code: s.planCode, current_usage: u.customer_usage };
      }),
    );
    const [wallets, topUps] = await Promise.all([portalWalletBalances(deps.db, org, customer.id), listTopUpRequests(deps.db, org, customer.id)]);
    res.json({
      portal: {
        customer: { external_id: customer.externalId, name: customer.name, email: customer.email, currency: customer.currency },
        expires_at: new Date(portalExpiresAt * 1000).toISOString(),
        subscriptions: usage,
        wallets: {
          available: wallets.available,
          wallets: wallets.wallets.map((w) => ({ lago_id: w.id, name: w.name, currency: w.currency, status: w.status, balance_cents: w.balanceCents, credits_balance: w.creditsBalance })),
        },
        top_up_requests: topUps.map(serializeTopUp),
      },
    });
  });
  api.get('/invoices', async (_req, res) => {
    const { portalCustomer: customer } = res.locals as PortalLocals;
    const org = customer.organizationId;
    const { invoices } = await listInvoices(deps.db, org, { externalCustomerId: customer.externalId, status: 'finalized', page: 1, perPage: 100 });
    const payment = await invoicePaymentFields(deps.db, org, invoices.map((i) => i.id));
    res.json({
      invoices: invoices.map((i) => {
        const p = payment.get(i.id);
        return {
          lago_id: i.id,
          number: i.number,
          issuing_date: i.issuingDate,
          invoice_type: i.invoiceType,
          status: p?.voided ? 'voided' : i.status,
          payment_status: i.paymentStatus,
          payment_overdue: p?.paymentOverdue ?? false,
          currency: i.currency,
          total_amount_cents: i.totalAmountCents,
          total_due_amount_cents: p?.totalDueAmountCents ?? i.totalAmountCents,
          from_datetime: i.periodStart,
          to_datetime: i.periodEnd,
          file_path: `/portal/api/invoices/${i.id}/file`,
        };
      }),
    });
  });
  api.get('/invoices/:lago_id/file', async (req, res) => {
    const { portalCustomer: customer } = res.locals as PortalLocals;
    const org = customer.organizationId;
    const inv = await getInvoice(deps.db, org, req.params.lago_id);
    // Another customer's invoice (same organization or not) or a draft: as if it did not exist.
    if (!inv || inv.customerId !== customer.id || inv.status !== 'finalized') throw notFound('invoice');
    const doc = await ensureInvoiceDocument(deps.db, store, org, inv.id);
    const bytes = await store.get(doc.storageKey);
    if (!bytes) throw notFound('file');
    res
      .status(200)
      .type('application/pdf')
      .set('Content-Disposition', `attachment; filename="${(inv.number ?? inv.id).replace(/[^A-Za-z0-9_-]/g, '_')}.pdf"`)
      .send(bytes);
  });
  api.post('/top_up_requests', async (req, res) => {
    const { portalCustomer: customer } = res.locals as PortalLocals;
    const org = customer.organizationId;
    const body = parseBody(TopUpRequestBody, req.body).top_up_request;
    const wallets = await portalWalletBalances(deps.db, org, customer.id);
    const details: Record<string, string[]> = {};
    let currency = body.currency ?? customer.currency ?? null;
    const walletId = body.wallet_id ?? null;
    if (walletId !== null) {
      const wallet = wallets.wallets.find((w) => w.id === walletId);
      if (!wallet) addDetail(details, 'wallet_id', 'not_found');
      else if (body.currency !== undefined && body.currency !== wallet.currency) addDetail(details, 'currency', 'does_not_match_wallet');
      else currency = wallet.currency;
    }
    if (currency === null) addDetail(details, 'currency', 'value_is_mandatory');
    if (Object.keys(details).length > 0) throw validationError(details);
    const { request } = await recordTopUpRequest(deps.db, { organizationId: org, customerId: customer.id, walletId, amountCents: body.amount_cents, currency: currency!, requestKey: body.request_key });
    res.json({ top_up_request: serializeTopUp(request) });
  });
  r.use('/portal/api', api);
  return r;
}

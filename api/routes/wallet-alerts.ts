// Lago's wallet alerts and wallet transaction traces (issue 13, ops13d):
//   GET    /customers/:external_customer_id/wallets/:wallet_code/alerts         → {alerts, meta}
//   POST   /customers/:external_customer_id/wallets/:wallet_code/alerts         {alert} → {alert} | {alerts: [...]} → {alerts}
//   DELETE /customers/:external_customer_id/wallets/:wallet_code/alerts         → {alerts: [the deleted alerts]}
//   GET    /customers/:external_customer_id/wallets/:wallet_code/alerts/:code   → {alert}
//   PUT    /customers/:external_customer_id/wallets/:wallet_code/alerts/:code   {alert: {code?, name?, thresholds?}} → {alert}
//   DELETE /customers/:external_customer_id/wallets/:wallet_code/alerts/:code   → {alert}
//   GET    /wallet_transactions/:lago_id/consumptions  (inbound)  → {wallet_transaction_consumptions, meta}
//   GET    /wallet_transactions/:lago_id/fundings      (outbound) → {wallet_transaction_fundings, meta}
// Rules (Lago): one alert per type and per code on a wallet (422 value_already_exist); thresholds decreasing, up to
// 20 plus one recurring (billing/wallet-alerts.ts). Amount types compare minor units (balance_cents,
// ongoing_balance_cents), credits types credits. Alerts trigger where the balance changes
// (db/repositories/wallet-alerts.ts), with Lago's alert.triggered webhook.
import { Router, type Response } from 'express';
import { canonicalDecimal } from '../../billing/decimal-string';
import { walletThresholdsError, type WalletAlertThreshold, type WalletAlertType } from '../../billing/wallet-alerts';
import { walletIdByCode } from '../../db/repositories/customer-money';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import {
  createWalletAlerts,
  deleteWalletAlert,
  deleteWalletAlerts,
  DuplicateWalletAlertError,
  getWalletAlertByCode,
  listWalletAlerts,
  updateWalletAlert,
  type WalletAlertRecord,
} from '../../db/repositories/wallet-alerts';
import { consumptionsOfInbound, fundingsOfOutbound, type TracePair } from '../../db/repositories/wallet-traces';
import { getWallet, getWalletTransaction, lockWallet, type WalletRecord } from '../../db/repositories/wallets';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { WalletAlertCreateBody, WalletAlertUpdateBody } from '../schemas/ops13d';
import { serializeWalletTransaction } from '../serializers/wallet';
import { decimalAsJsonNumber } from '../serializers/json-number';

export function serializeWalletAlert(a: WalletAlertRecord) {
  return {
    lago_id: a.id,
    lago_organization_id: a.organizationId,
    external_subscription_id: null,
    lago_wallet_id: a.walletId,
    wallet_code: a.walletCode,
    billable_metric: null,
    alert_type: a.alertType,
    code: a.code,
    name: a.name,
    direction: 'decreasing',
    previous_value: decimalAsJsonNumber(a.previousValue),
    last_processed_at: a.lastProcessedAt,
    thresholds: a.thresholds.map((t) => ({ code: t.code, value: t.value, recurring: t.recurring })),
    created_at: a.createdAt,
  };
}

type ThresholdIn = { code?: string | null | undefined; value: number | string; recurring: boolean };

function thresholdsOf(input: ThresholdIn[], field: string): WalletAlertThreshold[] {
  const out = input.map((t) => ({ code: t.code ?? null, value: canonicalDecimal(String(t.value)), recurring: t.recurring }));
  const err = walletThresholdsError(out);
  if (err) throw validationError({ [field]: [err] });
  return out;
}

function duplicate(err: unknown): never {
  if (err instanceof DuplicateWalletAlertError) throw validationError({ [err.field]: ['value_already_exist'] });
  throw err;
}

export function walletAlertRoutes(ctx: RouteContext): Router {
  const r = Router();
  const base = '/customers/:external_customer_id/wallets/:wallet_code/alerts';

  async function walletOf(res: Response, params: Record<string, string>): Promise<WalletRecord> {
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, params.external_customer_id!);
    if (!customer) throw notFound('customer');
    const id = await walletIdByCode(ctx.db, organizationId, customer.id, params.wallet_code!);
    const wallet = id ? await getWallet(ctx.db, organizationId, id) : null;
    if (!wallet) throw notFound('wallet');
    return wallet;
  }

  async function alertOf(res: Response, params: Record<string, string>): Promise<WalletAlertRecord> {
    const wallet = await walletOf(res, params);
    const alert = await getWalletAlertByCode(ctx.db, orgId(res), wallet.id, params.code!);
    if (!alert) throw notFound('alert');
    return alert;
  }

  r.get(base, async (req, res) => {
    const q = parseBody(paginationQuery, req.query);
    const wallet = await walletOf(res, req.params);
    const alerts = await listWalletAlerts(ctx.db, orgId(res), wallet.id);
    res.json({ alerts: alerts.slice((q.page - 1) * q.per_page, q.page * q.per_page).map(serializeWalletAlert), meta: paginationMeta(q.page, q.per_page, alerts.length) });
  });

  r.post(base, async (req, res) => {
    const organizationId = orgId(res);
    const body = parseBody(WalletAlertCreateBody, req.body);
    const batch = 'alerts' in body;
    const inputs = 'alerts' in body ? body.alerts : [body.alert];
    const alerts = inputs.map((a, i) => ({
      alertType: a.alert_type as WalletAlertType,
      code: a.code,
      name: a.name ?? null,
      thresholds: thresholdsOf(a.thresholds, batch ? `alerts[${i}].thresholds` : 'thresholds'),
    }));
    const { id } = await walletOf(res, req.params);
    const created = await ctx.db
      .transaction(async (trx) => {
        const wallet = await lockWallet(trx, organizationId, id);
        if (!wallet) throw notFound('wallet');
        return createWalletAlerts(trx, wallet, alerts);
      })
      .catch(duplicate);
    if (batch) res.json({ alerts: created.map(serializeWalletAlert) });
    else res.json({ alert: serializeWalletAlert(created[0]!) });
  });

  r.delete(base, async (req, res) => {
    const wallet = await walletOf(res, req.params);
    const alerts = await listWalletAlerts(ctx.db, orgId(res), wallet.id);
    await deleteWalletAlerts(ctx.db, orgId(res), wallet.id);
    res.json({ alerts: alerts.map(serializeWalletAlert) });
  });

  r.get(`${base}/:code`, async (req, res) => {
    res.json({ alert: serializeWalletAlert(await alertOf(res, req.params)) });
  });

  r.put(`${base}/:code`, async (req, res) => {
    const input = parseBody(WalletAlertUpdateBody, req.body).alert;
    const alert = await alertOf(res, req.params);
    const updated = await updateWalletAlert(ctx.db, orgId(res), alert.id, {
      code: input.code,
      name: input.name,
      thresholds: input.thresholds ? thresholdsOf(input.thresholds, 'thresholds') : undefined,
    }).catch(duplicate);
    res.json({ alert: serializeWalletAlert(updated) });
  });

  r.delete(`${base}/:code`, async (req, res) => {
    const alert = await alertOf(res, req.params);
    await deleteWalletAlert(ctx.db, orgId(res), alert.id);
    res.json({ alert: serializeWalletAlert(alert) });
  });

  // ---- consumptions / fundings --------------------------------------------------------------------------------

  async function tracesOf(res: Response, id: string, side: 'inbound' | 'outbound', page: { page: number; perPage: number }) {
    const organizationId = orgId(res);
    const t = await getWalletTransaction(ctx.db, organizationId, id);
    if (!t) throw notFound('wallet_transaction');
    if (t.transactionType !== side) throw validationError({ transaction_type: [side === 'inbound' ? 'must_be_inbound' : 'must_be_outbound'] });
    const wallet = (await getWallet(ctx.db, organizationId, t.walletId))!;
    const { pairs, totalCount } = side === 'inbound' ? await consumptionsOfInbound(ctx.db, organizationId, id, page) : await fundingsOfOutbound(ctx.db, organizationId, id, page);
    const items = [];
    for (const p of pairs as TracePair[]) {
      const other = (await getWalletTransaction(ctx.db, organizationId, p.transactionId))!;
      items.push({ lago_id: p.id, amount_cents: p.amountCents, credit_amount: p.creditAmount, created_at: p.createdAt, wallet_transaction: serializeWalletTransaction(other, wallet) });
    }
    return { items, totalCount };
  }

  r.get('/wallet_transactions/:lago_id/consumptions', async (req, res) => {
    const q = parseBody(paginationQuery, req.query);
    const { items, totalCount } = await tracesOf(res, req.params.lago_id, 'inbound', { page: q.page, perPage: q.per_page });
    res.json({ wallet_transaction_consumptions: items, meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/wallet_transactions/:lago_id/fundings', async (req, res) => {
    const q = parseBody(paginationQuery, req.query);
    const { items, totalCount } = await tracesOf(res, req.params.lago_id, 'outbound', { page: q.page, perPage: q.per_page });
    res.json({ wallet_transaction_fundings: items, meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  return r;
}

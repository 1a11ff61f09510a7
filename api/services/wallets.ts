// The wallet operations behind api/routes/wallets.ts. Every input is checked BEFORE anything is written (every
// problem in one 422, Lago's field codes); each operation is then one transaction, so a failure writes nothing.
// Money conversions are billing/wallet.ts (W1/W2); SQL is db/repositories/wallets*.ts.
//
// Lago's codes: customer unknown → 404 customer_not_found; wallet currency ≠ customer currency → 422
// `currency: [currencies_does_not_match]`; a malformed or negative credit amount → 422 `paid_credits:
// [invalid_paid_credits]` (granted, voided alike); rate_amount ≤ 0 → `rate_amount: [invalid_rate_amount]`; a
// top-up of an unknown wallet → 422 `wallet_id: [wallet_not_found]`, of a terminated one → 422 `wallet_id:
// [wallet_is_terminated]`; voiding more than the balance → 422 `voided_credits: [insufficient_credits]`
// (Meterline's code; Lago caps the void silently).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { issueTopUpInvoices } from '../../db/repositories/wallet-top-up-invoices';
import { BillingError } from '../../billing/errors';
import { parseCredits, parseRateAmount, type WalletFeeType } from '../../billing/wallet';
import { assignCustomerCurrencyIfUnset, getCustomerByExternalId, getCustomersByIds } from '../../db/repositories/customers';
import { expireWalletIfDue, terminateWallet, topUpWallet } from '../../db/repositories/wallet-topups';
import {
  DuplicateWalletCodeError,
  getWallet,
  insertWallet,
  lockWallet,
  replaceRules,
  updateWalletRow,
  type MetadataPair,
  type NewRule,
  type WalletRecord,
  type WalletTransactionRecord,
} from '../../db/repositories/wallets';
import { refreshOngoingBalances } from '../../usage/wallet-ongoing-balance';
import { addDetail, ApiError, notFound, validationError } from '../errors';
import type { RecurringRuleInput, WalletCreateBody, WalletTransactionCreateBody, WalletUpdateBody } from '../schemas/wallets';
import type { z } from 'zod';

type Details = Record<string, string[]>;

function credits(details: Details, value: unknown, field: string, code: string): string {
  if (value === undefined || value === null) return '0';
  try {
    return parseCredits(value, field);
  } catch {
    addDetail(details, field, code);
    return '0';
  }
}

function appliesTo(a: { fee_types?: WalletFeeType[] | null; billable_metric_codes?: string[] | null } | null | undefined) {
  return { feeTypes: a?.fee_types ?? null, billableMetricCodes: a?.billable_metric_codes ?? null };
}

function rulesOf(details: Details, rules: z.output<typeof RecurringRuleInput>[] | null | undefined): NewRule[] {
  return (rules ?? []).map((r, i) => {
    const f = (k: string) => `recurring_transaction_rules[${i}].${k}`;
    const method = r.method ?? 'fixed';
    const rule: NewRule = {
      trigger: r.trigger,
      method,
      interval: r.interval ?? null,
      thresholdCredits: r.threshold_credits === undefined || r.threshold_credits === null ? null : credits(details, r.threshold_credits, f('threshold_credits'), 'invalid_threshold_credits'),
      paidCredits: credits(details, r.paid_credits, f('paid_credits'), 'invalid_paid_credits'),
      grantedCredits: credits(details, r.granted_credits, f('granted_credits'), 'invalid_granted_credits'),
      targetOngoingBalance: r.target_ongoing_balance === undefined || r.target_ongoing_balance === null ? null : credits(details, r.target_ongoing_balance, f('target_ongoing_balance'), 'invalid_target_ongoing_balance'),
      grantsTargetTopUp: r.grants_target_top_up ?? false,
      invoiceRequiresSuccessfulPayment: r.invoice_requires_successful_payment ?? false,
      transactionName: r.transaction_name ?? null,
      transactionMetadata: (r.transaction_metadata ?? []) as MetadataPair[],
      startedAt: r.started_at ?? null,
      expirationAt: r.expiration_at ?? null,
    };
    if (rule.trigger === 'interval' && rule.interval === null) addDetail(details, f('interval'), 'value_is_mandatory');
    if (rule.trigger === 'threshold' && rule.thresholdCredits === null) addDetail(details, f('threshold_credits'), 'value_is_mandatory');
    if (method === 'target' && rule.targetOngoingBalance === null) addDetail(details, f('target_ongoing_balance'), 'value_is_mandatory');
    if (method === 'fixed' && rule.paidCredits === '0' && rule.grantedCredits === '0') addDetail(details, f('paid_credits'), 'invalid_recurring_rule');
    return rule;
  });
}

function businessKey(idempotencyKey: string | undefined): string {
  return `request:${idempotencyKey ? crypto.createHash('sha256').update(idempotencyKey).digest('hex') : crypto.randomUUID()}`;
}

export async function createWallet(db: Knex, organizationId: string, body: z.output<typeof WalletCreateBody>['wallet'], now: Date): Promise<{ wallet: WalletRecord; topUpInvoiceIds: string[] }> {
  const customer = await getCustomerByExternalId(db, organizationId, body.external_customer_id);
  if (!customer) throw notFound('customer');
  const details: Details = {};
  let rateAmount = '1';
  try {
    rateAmount = parseRateAmount(body.rate_amount);
  } catch {
    addDetail(details, 'rate_amount', 'invalid_rate_amount');
  }
  if (customer.currency && customer.currency !== body.currency) addDetail(details, 'currency', 'currencies_does_not_match');
  const paid = credits(details, body.paid_credits, 'paid_credits', 'invalid_paid_credits');
  const granted = credits(details, body.granted_credits, 'granted_credits', 'invalid_granted_credits');
  const rules = rulesOf(details, body.recurring_transaction_rules);
  if (body.expiration_at && Date.parse(body.expiration_at) <= now.getTime()) addDetail(details, 'expiration_at', 'invalid_date');
  if (Object.keys(details).length > 0) throw validationError(details);
  const { feeTypes, billableMetricCodes } = appliesTo(body.applies_to);
  const id = await db.transaction(async (trx) => {
    let walletId: string;
    try {
      walletId = await insertWallet(trx, organizationId, {
        customerId: customer.id,
        name: body.name ?? null,
        code: body.code ?? null,
        currency: body.currency,
        rateAmount,
        priority: body.priority ?? 50,
        expirationAt: body.expiration_at ?? null,
        invoiceRequiresSuccessfulPayment: body.invoice_requires_successful_payment ?? false,
        feeTypes,
        billableMetricCodes,
      });
    } catch (err) {
      if (err instanceof DuplicateWalletCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
    await replaceRules(trx, organizationId, walletId, rules);
    // A customer without a currency takes the wallet's (as Lago does).
    if (!customer.currency) await assignCustomerCurrencyIfUnset(trx, organizationId, customer.id, body.currency);
    const wallet = (await lockWallet(trx, organizationId, walletId))!;
    const txs = await topUpWallet(trx, wallet, {
      paidCredits: paid, grantedCredits: granted, voidedCredits: '0', name: body.transaction_name ?? null,
      metadata: (body.transaction_metadata ?? []) as MetadataPair[], source: 'manual', businessKey: `wallet:${walletId}:creation`,
    }, now);
    return { walletId, topUpInvoiceIds: await issueTopUpInvoices(trx, wallet, txs, now) };
  });
  return { wallet: (await getWallet(db, organizationId, id.walletId))!, topUpInvoiceIds: id.topUpInvoiceIds };
}

export async function updateWallet(db: Knex, organizationId: string, walletId: string, body: z.output<typeof WalletUpdateBody>['wallet'], now: Date): Promise<WalletRecord> {
  const details: Details = {};
  const rules = body.recurring_transaction_rules === undefined ? undefined : rulesOf(details, body.recurring_transaction_rules);
  if (body.expiration_at && Date.parse(body.expiration_at) <= now.getTime()) addDetail(details, 'expiration_at', 'invalid_date');
  if (Object.keys(details).length > 0) throw validationError(details);
  await db.transaction(async (trx) => {
    const wallet = await lockWallet(trx, organizationId, walletId);
    if (!wallet) throw notFound('wallet');
    if (await expireWalletIfDue(trx, wallet, now)) return;
    if (wallet.status !== 'active') throw validationError({ wallet: ['wallet_is_terminated'] });
    await updateWalletRow(trx, organizationId, walletId, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
      ...(body.expiration_at !== undefined ? { expirationAt: body.expiration_at } : {}),
      ...(body.invoice_requires_successful_payment !== undefined ? { invoiceRequiresSuccessfulPayment: body.invoice_requires_successful_payment } : {}),
      ...(body.applies_to !== undefined ? appliesTo(body.applies_to) : {}),
    });
    if (rules !== undefined) await replaceRules(trx, organizationId, walletId, rules);
  });
  return (await getWallet(db, organizationId, walletId))!;
}

export async function terminate(db: Knex, organizationId: string, walletId: string, now: Date): Promise<WalletRecord> {
  await db.transaction(async (trx) => {
    const wallet = await lockWallet(trx, organizationId, walletId);
    if (!wallet) throw notFound('wallet');
    if (!(await expireWalletIfDue(trx, wallet, now))) await terminateWallet(trx, wallet, now);
  });
  return (await getWallet(db, organizationId, walletId))!;
}

export async function createTransactions(
  db: Knex,
  organizationId: string,
  body: z.output<typeof WalletTransactionCreateBody>['wallet_transaction'],
  idempotencyKey: string | undefined,
  now: Date,
): Promise<{ wallet: WalletRecord; transactions: WalletTransactionRecord[]; topUpInvoiceIds: string[] }> {
  const details: Details = {};
  const paid = credits(details, body.paid_credits, 'paid_credits', 'invalid_paid_credits');
  const granted = credits(details, body.granted_credits, 'granted_credits', 'invalid_granted_credits');
  const voided = credits(details, body.voided_credits, 'voided_credits', 'invalid_voided_credits');
  if (Object.keys(details).length > 0) throw validationError(details);
  return db.transaction(async (trx) => {
    const wallet = await lockWallet(trx, organizationId, body.wallet_id);
    if (!wallet) throw validationError({ wallet_id: ['wallet_not_found'] });
    await expireWalletIfDue(trx, wallet, now);
    if (wallet.status !== 'active') throw validationError({ wallet_id: ['wallet_is_terminated'] });
    try {
      const transactions = await topUpWallet(trx, wallet, {
        paidCredits: paid, grantedCredits: granted, voidedCredits: voided,
        ...(body.invoice_requires_successful_payment !== undefined ? { invoiceRequiresSuccessfulPayment: body.invoice_requires_successful_payment } : {}),
        name: body.name ?? null, metadata: (body.metadata ?? []) as MetadataPair[], source: 'manual', businessKey: businessKey(idempotencyKey),
      }, now);
      // Paid credits: their top-up invoice, in this transaction (a replay finds the first one).
      const topUpInvoiceIds = await issueTopUpInvoices(trx, wallet, transactions, now);
      return { wallet, transactions, topUpInvoiceIds };
    } catch (err) {
      if (err instanceof BillingError && err.code === 'invalid_amount' && err.field === 'voided_credits') throw validationError({ voided_credits: ['insufficient_credits'] });
      throw err;
    }
  });
}

/**
 * A wallet as the API shows it: expired lazily, and for an active wallet the ongoing balance confirmed from
 * Postgres now (usage/wallet-ongoing-balance.ts; may enqueue wallet.depleted_ongoing_balance or a threshold top-up).
 */
export async function readWallet(db: Knex, organizationId: string, walletId: string, now: Date): Promise<WalletRecord | null> {
  const wallet = await getWallet(db, organizationId, walletId);
  if (!wallet) return null;
  if (wallet.status === 'active') {
    const customer = (await getCustomersByIds(db, organizationId, [wallet.customerId])).get(wallet.customerId);
    if (customer) await refreshOngoingBalances(db, organizationId, { id: customer.id, externalId: customer.externalId, currency: customer.currency ?? wallet.currency }, now);
    return getWallet(db, organizationId, walletId);
  }
  return wallet;
}

export function assertWallet(w: WalletRecord | null): WalletRecord {
  if (!w) throw new ApiError(404, 'wallet_not_found');
  return w;
}

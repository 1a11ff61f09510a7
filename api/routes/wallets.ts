// Lago's /wallets (create, list by external_customer_id, get, update, terminate via DELETE) and
// /wallet_transactions (top-ups: paid, granted, voided credits; list per wallet; get one). Thin: the
// operations are api/services/wallets.ts. Reads confirm the ongoing balance from Postgres (lazy) and expire an
// expired wallet first. After a wallet is created, the customer's subscription workflows are told
// (billingRulesChangedSignal) so their usage checks refresh the ongoing balance from then on.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Router } from 'express';
import { invoiceWorkflowId } from '../../contracts/workflows';
import { listWallets, listWalletTransactions, getWalletTransaction, getWallet } from '../../db/repositories/wallets';
import { listSubscriptionIdsOfCustomer } from '../../db/repositories/wallet-subscriptions';
import { billingRulesChangedSignal, subscriptionWorkflowId } from '../../workflows/messages';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { paginationMeta, parseBody } from '../schemas/common';
import { WalletCreateBody, WalletListQuery, WalletTransactionCreateBody, WalletTransactionListQuery, WalletUpdateBody } from '../schemas/wallets';
import { serializeWallet, serializeWalletTransaction } from '../serializers/wallet';
import { assertWallet, createTransactions, createWallet, readWallet, terminate, updateWallet } from '../services/wallets';
import { knownBillingEntityCodes } from './billing-entities';

/**
 * The collection of new top-up invoices (paid credits) runs in their invoice workflows, started with no grace
 * period (the invoice is already finalized) — as POST /invoices does for one-off invoices. A start that fails is
 * logged: the invoice stays payable by POST /payments, whose payment credits the wallet all the same.
 */
export async function startTopUpInvoiceWorkflows(ctx: RouteContext, organizationId: string, invoiceIds: string[]): Promise<void> {
  for (const invoiceId of invoiceIds) {
    try {
      await ctx.temporal.workflow.start('invoiceWorkflow', {
        taskQueue: ctx.taskQueue,
        workflowId: invoiceWorkflowId(invoiceId),
        args: [{ version: 1, organizationId, invoiceId, gracePeriodDays: 0 }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) ctx.logger.warn('could not start the workflow of a top-up invoice', { invoiceId, error: (err as Error)?.message });
    }
  }
}

/** After POST /wallets (and POST /customers/:id/wallets): top-up invoices collected, subscription workflows told. */
export async function afterWalletCreated(ctx: RouteContext, organizationId: string, customerId: string, topUpInvoiceIds: string[]): Promise<void> {
  await startTopUpInvoiceWorkflows(ctx, organizationId, topUpInvoiceIds);
  for (const id of await listSubscriptionIdsOfCustomer(ctx.db, organizationId, customerId)) {
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(id)).signal(billingRulesChangedSignal);
    } catch (err) {
      ctx.logger.warn('could not tell a subscription workflow about a new wallet; its ongoing balance is confirmed on reads', { subscriptionId: id, error: (err as Error)?.message });
    }
  }
}

export function walletRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/wallets', async (req, res) => {
    const body = parseBody(WalletCreateBody, req.body).wallet;
    const organizationId = orgId(res);
    const { wallet, topUpInvoiceIds } = await createWallet(ctx.db, organizationId, body, new Date());
    await afterWalletCreated(ctx, organizationId, wallet.customerId, topUpInvoiceIds);
    res.status(200).json({ wallet: serializeWallet(wallet) });
  });

  r.get('/wallets', async (req, res) => {
    const q = parseBody(WalletListQuery, req.query);
    const billingEntityCodes = await knownBillingEntityCodes(ctx.db, orgId(res), q);
    const { wallets, totalCount } = await listWallets(ctx.db, orgId(res), {
      ...(q.external_customer_id !== undefined ? { externalCustomerId: q.external_customer_id } : {}),
      ...(billingEntityCodes ? { billingEntityCodes } : {}),
      page: q.page,
      perPage: q.per_page,
    });
    res.json({ wallets: wallets.map(serializeWallet), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/wallets/:lago_id', async (req, res) => {
    const wallet = assertWallet(await readWallet(ctx.db, orgId(res), req.params.lago_id, new Date()));
    res.json({ wallet: serializeWallet(wallet) });
  });

  r.put('/wallets/:lago_id', async (req, res) => {
    const body = parseBody(WalletUpdateBody, req.body).wallet;
    const wallet = await updateWallet(ctx.db, orgId(res), req.params.lago_id, body, new Date());
    res.json({ wallet: serializeWallet(wallet) });
  });

  r.delete('/wallets/:lago_id', async (req, res) => {
    const wallet = await terminate(ctx.db, orgId(res), req.params.lago_id, new Date());
    res.json({ wallet: serializeWallet(wallet) });
  });

  r.post('/wallet_transactions', async (req, res) => {
    const body = parseBody(WalletTransactionCreateBody, req.body).wallet_transaction;
    const organizationId = orgId(res);
    const { wallet, transactions, topUpInvoiceIds } = await createTransactions(ctx.db, organizationId, body, req.header('idempotency-key') ?? undefined, new Date());
    await startTopUpInvoiceWorkflows(ctx, organizationId, topUpInvoiceIds);
    res.json({ wallet_transactions: transactions.map((t) => serializeWalletTransaction(t, wallet)) });
  });

  r.get('/wallets/:lago_id/wallet_transactions', async (req, res) => {
    const q = parseBody(WalletTransactionListQuery, req.query);
    const organizationId = orgId(res);
    const wallet = await getWallet(ctx.db, organizationId, req.params.lago_id);
    if (!wallet) throw notFound('wallet');
    // Lago's transaction_status `voided` includes expiries (shown as voided).
    const statusFilter = q.transaction_status;
    const { transactions, totalCount } = await listWalletTransactions(ctx.db, organizationId, wallet.id, {
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(statusFilter !== undefined ? { transactionStatus: statusFilter } : {}),
      ...(q.transaction_type !== undefined ? { transactionType: q.transaction_type } : {}),
      page: q.page,
      perPage: q.per_page,
    });
    res.json({ wallet_transactions: transactions.map((t) => serializeWalletTransaction(t, wallet)), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/wallet_transactions/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const t = await getWalletTransaction(ctx.db, organizationId, req.params.lago_id);
    const wallet = t ? await getWallet(ctx.db, organizationId, t.walletId) : null;
    if (!t || !wallet) throw notFound('wallet_transaction');
    // Lago 1.51's schema and the official client read the bare object; lago-api itself answers the envelope.
    const body = serializeWalletTransaction(t, wallet);
    res.json({ ...body, wallet_transaction: body });
  });

  return r;
}

// Lago's customer-and-money operations (issue 13, ops13a). Thin: each reuses the list or service Meterline already
// has for the resource, with the customer fixed by the path, and Lago's answers:
// - GET /customers/:external_customer_id/{invoices,credit_notes,applied_coupons,payments,payment_requests}: the
//   lists of /invoices, /credit_notes, /applied_coupons, /payments, /payment_requests for that customer; an unknown
//   customer is 404 customer_not_found (the unscoped lists answer an empty page for it, as Lago);
// - GET /payments, GET /payments/:lago_id: manual payments and provider attempts (PaymentObject);
// - GET /payment_receipts[/:lago_id]: the receipt of each succeeded payment (written by a trigger on payments in the
//   payment's own transaction, db/migrations/20261201002900_customer_money.ts);
// - POST/GET /payment_requests, GET /payment_requests/:lago_id: a request to pay overdue invoices; each invoice's
//   workflow is asked for a payment attempt now (the retry_payment path: provider attempt, then its dunning);
//   the request's payment_status is derived from its invoices;
// - /customers/:external_customer_id/wallets[/:code]: /wallets by the customer and the wallet's code;
// - DELETE /fees/:lago_id: a fee on no invoice is soft-deleted (its event is never billed again); an invoiced fee
//   is 405 invoiced_fee, as Lago.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Request, Response } from 'express';
import { Router } from 'express';
import { BillingError } from '../../billing/errors';
import { creditsOfAppliedCoupons } from '../../db/repositories/applied-coupon-credits';
import { listAppliedCoupons } from '../../db/repositories/coupons';
import { listCreditNotes } from '../../db/repositories/credit-notes';
import {
  getPaymentReceipt,
  getPaymentRequest,
  getPaymentView,
  insertPaymentRequest,
  isUuid,
  listPaymentReceipts,
  listPaymentRequests,
  listPaymentViews,
  lockInvoicesOfCustomer,
  paymentRequestStatus,
  softDeleteUninvoicedFee,
  walletIdByCode,
  type PaymentRequestRecord,
  type PaymentView,
} from '../../db/repositories/customer-money';
import { getCustomerByExternalId, getCustomersByIds, type CustomerRecord } from '../../db/repositories/customers';
import { feeStanding } from '../../db/repositories/uninvoiced-fees';
import { getInvoice, type InvoiceRecord } from '../../db/repositories/invoices';
import { listWallets } from '../../db/repositories/wallets';
import { invoiceWorkflowId, retryPaymentUpdate } from '../../workflows/messages';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound, validationError } from '../errors';
import { iso, paginationMeta, parseBody } from '../schemas/common';
import {
  CustomerAppliedCouponListQuery,
  CustomerCreditNoteListQuery,
  CustomerInvoiceListQuery,
  CustomerPaymentListQuery,
  CustomerPaymentRequestListQuery,
  CustomerWalletCreateBody,
  CustomerWalletListQuery,
  PaymentListQuery,
  PaymentReceiptListQuery,
  PaymentRequestCreateBody,
  PaymentRequestListQuery,
} from '../schemas/customer-money';
import { WalletUpdateBody } from '../schemas/wallets';
import { serializePayment } from '../serializers/payment';
import { serializeWallet } from '../serializers/wallet';
import { assertWallet, createWallet, readWallet, terminate, updateWallet } from '../services/wallets';
import { serializeAppliedCoupon, serializeCouponCredit } from './coupons';
import { serializeCreditNote } from './credit-notes';
import { creditNoteFees } from '../serializers/credit-note-fees';
import { serializeCustomer } from './customers';
import { serializeFees } from './everyday-reads';
import { sendInvoiceList, serializeInvoiceRecords } from './invoices';
import { knownBillingEntityCodes } from './billing-entities';
import { creditNoteFileUrls } from '../services/credit-note-files';
import { publicBaseUrl } from '../services/invoice-extras';
import { afterWalletCreated } from './wallets';
import type { ProviderFactory } from './payments';
import { invoicePaymentUrl } from '../services/invoice-payment-url';
import { getWalletTransaction } from '../../db/repositories/wallets';

const paymentBody = (p: PaymentView) =>
  serializePayment(p, { customerId: p.customerId, externalCustomerId: p.externalCustomerId, providerCustomerId: p.providerCustomerId, invoiceNumber: p.invoiceNumber });

/** `name[]=a&name[]=b`, `name=a` or `name[]=a` as parsed by Express's query parser: the values, or undefined. */
function queryArray(req: Request, name: string): string[] | undefined {
  const raw = req.query[`${name}[]`] ?? req.query[name];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

export function customerMoneyRoutes(ctx: RouteContext, providerFor: ProviderFactory): Router {
  const r = Router();

  async function customerOf(res: Response, externalId: string): Promise<CustomerRecord> {
    const customer = await getCustomerByExternalId(ctx.db, orgId(res), externalId);
    if (!customer) throw notFound('customer');
    return customer;
  }

  // ---- the customer's lists --------------------------------------------------------------------------------

  r.get('/customers/:external_customer_id/invoices', async (req, res) => {
    const q = parseBody(CustomerInvoiceListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    await sendInvoiceList(ctx, req, res, { ...q, external_customer_id: customer.externalId });
  });

  r.get('/customers/:external_customer_id/credit_notes', async (req, res) => {
    const q = parseBody(CustomerCreditNoteListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    const organizationId = orgId(res);
    if (q.invoice_id !== undefined && !isUuid(q.invoice_id)) {
      res.json({ credit_notes: [], meta: paginationMeta(q.page, q.per_page, 0) }); // names no invoice
      return;
    }
    const { creditNotes, totalCount } = await listCreditNotes(ctx.db, organizationId, { customerId: customer.id, invoiceId: q.invoice_id, page: q.page, perPage: q.per_page });
    const urls = await creditNoteFileUrls(ctx.db, organizationId, creditNotes.map((n) => n.id), publicBaseUrl(req));
    const fees = await creditNoteFees(ctx.db, organizationId, defaultTimezoneOf(res), creditNotes);
    res.json({ credit_notes: creditNotes.map((n) => serializeCreditNote(n, urls.get(n.id) ?? null, fees)), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/customers/:external_customer_id/applied_coupons', async (req, res) => {
    const q = parseBody(CustomerAppliedCouponListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    const organizationId = orgId(res);
    const couponCodes = queryArray(req, 'coupon_code');
    const { appliedCoupons, totalCount } = await listAppliedCoupons(ctx.db, organizationId, { customerId: customer.id, status: q.status, couponCodes, page: q.page, perPage: q.per_page });
    const credits = await creditsOfAppliedCoupons(ctx.db, organizationId, appliedCoupons.map((a) => a.id));
    res.json({
      applied_coupons: appliedCoupons.map((a) => ({ ...serializeAppliedCoupon(a), credits: (credits.get(a.id) ?? []).map(serializeCouponCredit) })),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  // ---- payments and receipts -------------------------------------------------------------------------------

  async function sendPayments(res: Response, q: { page: number; per_page: number; invoice_id?: string }, customerId?: string): Promise<void> {
    if (q.invoice_id !== undefined && !isUuid(q.invoice_id)) {
      res.json({ payments: [], meta: paginationMeta(q.page, q.per_page, 0) }); // names no invoice
      return;
    }
    const { payments, totalCount } = await listPaymentViews(ctx.db, orgId(res), { customerId, invoiceId: q.invoice_id, page: q.page, perPage: q.per_page });
    res.json({ payments: payments.map(paymentBody), meta: paginationMeta(q.page, q.per_page, totalCount) });
  }

  r.get('/payments', async (req, res) => {
    const q = parseBody(PaymentListQuery, req.query);
    let customerId: string | undefined;
    if (q.external_customer_id !== undefined) {
      const customer = await getCustomerByExternalId(ctx.db, orgId(res), q.external_customer_id);
      if (!customer) {
        res.json({ payments: [], meta: paginationMeta(q.page, q.per_page, 0) });
        return;
      }
      customerId = customer.id;
    }
    await sendPayments(res, q, customerId);
  });

  r.get('/customers/:external_customer_id/payments', async (req, res) => {
    const q = parseBody(CustomerPaymentListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    await sendPayments(res, q, customer.id);
  });

  r.get('/payments/:lago_id', async (req, res) => {
    const payment = await getPaymentView(ctx.db, orgId(res), req.params.lago_id);
    if (!payment) throw notFound('payment');
    res.json({ payment: paymentBody(payment) });
  });

  const receiptBody = (r: Awaited<ReturnType<typeof listPaymentReceipts>>['receipts'][number]) => ({ lago_id: r.id, number: r.number, created_at: iso(r.createdAt), payment: paymentBody(r.payment) });

  r.get('/payment_receipts', async (req, res) => {
    const q = parseBody(PaymentReceiptListQuery, req.query);
    if (q.invoice_id !== undefined && !isUuid(q.invoice_id)) {
      res.json({ payment_receipts: [], meta: paginationMeta(q.page, q.per_page, 0) });
      return;
    }
    const { receipts, totalCount } = await listPaymentReceipts(ctx.db, orgId(res), { invoiceId: q.invoice_id, page: q.page, perPage: q.per_page });
    res.json({ payment_receipts: receipts.map(receiptBody), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/payment_receipts/:lago_id', async (req, res) => {
    const receipt = await getPaymentReceipt(ctx.db, orgId(res), req.params.lago_id);
    if (!receipt) throw notFound('payment_receipt');
    res.json({ payment_receipt: receiptBody(receipt) });
  });

  // ---- payment requests ------------------------------------------------------------------------------------

  async function serializeRequests(req: Request, res: Response, requests: PaymentRequestRecord[]) {
    const organizationId = orgId(res);
    const customers = await getCustomersByIds(ctx.db, organizationId, requests.map((p) => p.customerId));
    const invoiceIds = [...new Set(requests.flatMap((p) => p.invoices.map((i) => i.id)))];
    const records: InvoiceRecord[] = [];
    for (const id of invoiceIds) {
      const inv = await getInvoice(ctx.db, organizationId, id);
      if (inv) records.push(inv);
    }
    const serialized = await serializeInvoiceRecords(ctx, req, res, records);
    const byId = new Map(serialized.map((s) => [s.lago_id, s]));
    return requests.map((p) => ({
      lago_id: p.id,
      email: p.email,
      amount_cents: p.amountCents,
      amount_currency: p.currency,
      payment_status: paymentRequestStatus(p.invoices),
      created_at: iso(p.createdAt),
      customer: serializeCustomer(customers.get(p.customerId)!, defaultTimezoneOf(res)),
      invoices: p.invoices.map((i) => byId.get(i.id)).filter((i) => i !== undefined),
    }));
  }

  async function sendPaymentRequests(req: Request, res: Response, q: { page: number; per_page: number; currency?: string; payment_status?: 'pending' | 'succeeded' | 'failed' }, customerId?: string) {
    const { requests, totalCount } = await listPaymentRequests(ctx.db, orgId(res), { customerId, currency: q.currency, paymentStatus: q.payment_status, page: q.page, perPage: q.per_page });
    res.json({ payment_requests: await serializeRequests(req, res, requests), meta: paginationMeta(q.page, q.per_page, totalCount) });
  }

  r.get('/payment_requests', async (req, res) => {
    const q = parseBody(PaymentRequestListQuery, req.query);
    let customerId: string | undefined;
    if (q.external_customer_id !== undefined) {
      const customer = await getCustomerByExternalId(ctx.db, orgId(res), q.external_customer_id);
      if (!customer) {
        res.json({ payment_requests: [], meta: paginationMeta(q.page, q.per_page, 0) });
        return;
      }
      customerId = customer.id;
    }
    await sendPaymentRequests(req, res, q, customerId);
  });

  r.get('/customers/:external_customer_id/payment_requests', async (req, res) => {
    const q = parseBody(CustomerPaymentRequestListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    await sendPaymentRequests(req, res, q, customer.id);
  });

  r.get('/payment_requests/:lago_id', async (req, res) => {
    const request = await getPaymentRequest(ctx.db, orgId(res), req.params.lago_id);
    if (!request) throw notFound('payment_request');
    res.json({ payment_request: (await serializeRequests(req, res, [request]))[0] });
  });

  r.post('/payment_requests', async (req, res) => {
    const input = parseBody(PaymentRequestCreateBody, req.body).payment_request;
    const organizationId = orgId(res);
    const customer = await customerOf(res, input.external_customer_id);
    const { id, created, invoiceIds } = await ctx.db.transaction(async (trx) => {
      const invoices = await lockInvoicesOfCustomer(trx, organizationId, customer.id, input.lago_invoice_ids);
      if (invoices.length !== new Set(input.lago_invoice_ids).size) throw notFound('invoice');
      // Lago's PaymentRequests::CreateService: only overdue, unpaid, finalized invoices, in one currency.
      if (invoices.some((i) => i.status !== 'finalized' || !i.paymentOverdue || i.paymentStatus === 'succeeded' || i.totalDueAmountCents <= 0)) {
        throw validationError({ lago_invoice_ids: ['invoices_not_overdue'] });
      }
      if (new Set(invoices.map((i) => i.currency)).size > 1) throw validationError({ lago_invoice_ids: ['invoices_have_different_currencies'] });
      const written = await insertPaymentRequest(trx, { organizationId, customerId: customer.id, email: input.email, currency: invoices[0]!.currency, invoices });
      return { ...written, invoiceIds: invoices.map((i) => i.id) };
    });
    if (created) await requestPaymentAttempts(ctx, invoiceIds);
    const request = await getPaymentRequest(ctx.db, organizationId, id);
    res.json({ payment_request: (await serializeRequests(req, res, [request!]))[0] });
  });

  // ---- the customer's wallets, by code ---------------------------------------------------------------------

  async function walletIdOf(res: Response, externalCustomerId: string, code: string): Promise<string> {
    const customer = await customerOf(res, externalCustomerId);
    const id = await walletIdByCode(ctx.db, orgId(res), customer.id, code);
    if (!id) throw notFound('wallet');
    return id;
  }

  r.get('/customers/:external_customer_id/wallets', async (req, res) => {
    const q = parseBody(CustomerWalletListQuery, req.query);
    const customer = await customerOf(res, req.params.external_customer_id);
    const billingEntityCodes = await knownBillingEntityCodes(ctx.db, orgId(res), q);
    const { wallets, totalCount } = await listWallets(ctx.db, orgId(res), { externalCustomerId: customer.externalId, ...(billingEntityCodes ? { billingEntityCodes } : {}), page: q.page, perPage: q.per_page });
    res.json({ wallets: wallets.map(serializeWallet), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.post('/customers/:external_customer_id/wallets', async (req, res) => {
    const body = parseBody(CustomerWalletCreateBody, req.body).wallet;
    const organizationId = orgId(res);
    const { wallet, topUpInvoiceIds } = await createWallet(ctx.db, organizationId, { ...body, external_customer_id: req.params.external_customer_id }, new Date());
    await afterWalletCreated(ctx, organizationId, wallet.customerId, topUpInvoiceIds);
    res.json({ wallet: serializeWallet(wallet) });
  });

  r.get('/customers/:external_customer_id/wallets/:code', async (req, res) => {
    const id = await walletIdOf(res, req.params.external_customer_id, req.params.code);
    res.json({ wallet: serializeWallet(assertWallet(await readWallet(ctx.db, orgId(res), id, new Date()))) });
  });

  r.put('/customers/:external_customer_id/wallets/:code', async (req, res) => {
    const body = parseBody(WalletUpdateBody, req.body).wallet;
    const id = await walletIdOf(res, req.params.external_customer_id, req.params.code);
    res.json({ wallet: serializeWallet(await updateWallet(ctx.db, orgId(res), id, body, new Date())) });
  });

  r.delete('/customers/:external_customer_id/wallets/:code', async (req, res) => {
    const id = await walletIdOf(res, req.params.external_customer_id, req.params.code);
    res.json({ wallet: serializeWallet(await terminate(ctx.db, orgId(res), id, new Date())) });
  });

  // ---- POST /wallet_transactions/:lago_id/payment_url ------------------------------------------------------
  // A purchase (paid credits) waiting for its top-up invoice's payment: a provider checkout link for that invoice's
  // amount due, as POST /invoices/:lago_id/payment_url gives (the payment settles the purchase, as any payment of
  // the invoice does). Granted or voided credits, or a settled purchase, have nothing to pay: 405.
  r.post('/wallet_transactions/:lago_id/payment_url', async (req, res) => {
    const organizationId = orgId(res);
    const t = await getWalletTransaction(ctx.db, organizationId, req.params.lago_id);
    if (!t) throw notFound('wallet_transaction');
    if (t.transactionStatus !== 'purchased' || t.status !== 'pending' || t.invoiceId === null) {
      throw new ApiError(405, 'wallet_transaction_not_payable', 'Only a pending purchase of credits has an invoice to pay');
    }
    const { invoice: inv, url } = await invoicePaymentUrl(ctx, providerFor, organizationId, t.invoiceId);
    res.json({
      wallet_transaction_payment_details: { lago_customer_id: inv.customer.id, lago_wallet_transaction_id: t.id, external_customer_id: inv.customer.externalId, payment_provider: 'stripe', payment_url: url },
    });
  });

  // ---- DELETE /fees/:lago_id -------------------------------------------------------------------------------

  r.delete('/fees/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const feeId = req.params.lago_id;
    const standing = await feeStanding(ctx.db, organizationId, feeId);
    if (standing === 'not_found') throw notFound('fee');
    if (standing === 'invoiced') throw invoicedFee(feeId);
    const [fee] = await serializeFees(ctx, organizationId, res, [{ feeId, invoiceId: null }]);
    const outcome = await softDeleteUninvoicedFee(ctx.db, organizationId, feeId, new Date());
    if (outcome === 'not_found' || !fee) throw notFound('fee');
    if (outcome === 'invoiced') throw invoicedFee(feeId);
    res.json({ fee });
  });

  return r;
}

const invoicedFee = (feeId: string) => new BillingError('invoiced_fee', `Fee ${feeId} is on an invoice: it is deleted with its invoice (void or credit note)`, 'lago_id');

/**
 * A new payment request asks each invoice's workflow for a payment attempt now (retryPaymentUpdate: a provider
 * attempt keyed by the invoice and attempt number, then the invoice's dunning). A workflow that is not running
 * (collection ended) or refuses (no provider, nothing to retry) leaves the invoice to a manual payment; logged.
 */
async function requestPaymentAttempts(ctx: RouteContext, invoiceIds: string[]): Promise<void> {
  for (const invoiceId of invoiceIds) {
    try {
      await ctx.temporal.workflow.getHandle(invoiceWorkflowId(invoiceId)).executeUpdate(retryPaymentUpdate);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) ctx.logger.info('payment request: no payment attempt for an invoice', { invoiceId, error: (err as Error)?.message });
    }
  }
}


// Lago's /coupons (create, list, get, update, delete by code) and /applied_coupons (apply to a customer, list),
// DELETE /customers/:external_customer_id/applied_coupons/:applied_coupon_id (terminate an application).
// The rules (order, split, consumption) are billing/coupons.ts; the refusals are db/repositories/coupons.ts.
import { creditsOfAppliedCoupons, type AppliedCouponCredit } from '../../db/repositories/applied-coupon-credits';
import { Router } from 'express';
import { getBillableMetricByCode } from '../../db/repositories/billable-metrics';
import {
  applyCoupon,
  createCoupon,
  deleteCoupon,
  DuplicateCouponCodeError,
  getCouponByCode,
  listAppliedCoupons,
  listCouponsPage,
  terminateAppliedCoupon,
  updateCoupon,
  type AppliedCouponRecord,
  type CouponRecord,
  type NewCoupon,
} from '../../db/repositories/coupons';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import { getPlanByCode } from '../../db/repositories/plans';
import { appliedCouponUsage } from '../../billing/coupons';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound, validationError } from '../errors';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { AppliedCouponBody, AppliedCouponListQuery, CouponCreateBody, CouponUpdateBody } from '../schemas/credits';

/** Lago CouponObject. */
export function serializeCoupon(c: CouponRecord) {
  return {
    lago_id: c.id,
    name: c.name,
    code: c.code,
    description: c.description,
    coupon_type: c.couponType,
    amount_cents: c.amountCents,
    amount_currency: c.amountCurrency,
    percentage_rate: c.percentageRate,
    reusable: c.reusable,
    limited_plans: c.planCodes.length > 0,
    plan_codes: c.planCodes,
    limited_billable_metrics: c.billableMetricCodes.length > 0,
    billable_metric_codes: c.billableMetricCodes,
    frequency: c.frequency,
    frequency_duration: c.frequencyDuration,
    expiration: c.expiration,
    expiration_at: iso(c.expirationAt),
    created_at: iso(c.createdAt),
    terminated_at: iso(c.terminatedAt),
  };
}

/** Lago's CreditObject for what an applied coupon took from an invoice (before taxes: coupons apply to fees). */
export function serializeCouponCredit(c: AppliedCouponCredit) {
  return {
    lago_id: c.id,
    amount_cents: c.amountCents,
    amount_currency: c.currency,
    before_taxes: true,
    item: { lago_item_id: c.couponId, type: 'coupon', code: c.couponCode, name: c.couponName },
    invoice: { lago_id: c.invoiceId, payment_status: c.invoicePaymentStatus === 'succeeded' || c.invoicePaymentStatus === 'failed' ? c.invoicePaymentStatus : 'pending' },
  };
}

/** Lago AppliedCouponObject (amount_cents_remaining / frequency_duration_remaining from what finalized invoices took). */
export function serializeAppliedCoupon(a: AppliedCouponRecord) {
  const usage = appliedCouponUsage({ couponType: a.couponType, frequency: a.frequency, amountCents: a.amountCents, frequencyDuration: a.frequencyDuration }, a.usedOnInvoices, a.consumedAmountCents);
  return {
    lago_id: a.id,
    lago_coupon_id: a.couponId,
    coupon_code: a.couponCode,
    coupon_name: a.couponName,
    coupon_status: a.couponStatus,
    coupon_deleted_at: iso(a.couponDeletedAt),
    lago_customer_id: a.customerId,
    external_customer_id: a.externalCustomerId,
    status: a.status,
    amount_cents: a.amountCents,
    amount_cents_remaining: a.couponType === 'fixed_amount' && a.frequency === 'once' ? usage.amountCentsRemaining : null,
    amount_currency: a.amountCurrency,
    percentage_rate: a.percentageRate,
    frequency: a.frequency,
    frequency_duration: a.frequencyDuration,
    frequency_duration_remaining: a.frequency === 'recurring' ? usage.frequencyDurationRemaining : null,
    expiration_at: iso(a.expirationAt),
    created_at: iso(a.createdAt),
    terminated_at: iso(a.terminatedAt),
  };
}

type CouponInput = ReturnType<typeof parseBody<typeof CouponUpdateBody>>['coupon'];

function toNewCoupon(c: CouponInput): Partial<NewCoupon> {
  const out: Partial<NewCoupon> = {};
  if (c.code !== undefined) out.code = c.code;
  if (c.name !== undefined) out.name = c.name;
  if (c.description !== undefined) out.description = c.description ?? null;
  if (c.coupon_type !== undefined) out.couponType = c.coupon_type;
  if (c.amount_cents !== undefined) out.amountCents = c.amount_cents ?? null;
  if (c.amount_currency !== undefined) out.amountCurrency = c.amount_currency ?? null;
  if (c.percentage_rate !== undefined) out.percentageRate = c.percentage_rate ?? null;
  if (c.reusable !== undefined) out.reusable = c.reusable;
  if (c.frequency !== undefined) out.frequency = c.frequency;
  if (c.frequency_duration !== undefined) out.frequencyDuration = c.frequency_duration ?? null;
  if (c.expiration !== undefined) out.expiration = c.expiration;
  if (c.expiration_at !== undefined) out.expirationAt = c.expiration_at ? new Date(c.expiration_at) : null;
  if (c.applies_to !== undefined) {
    out.planCodes = c.applies_to?.plan_codes ?? [];
    out.billableMetricCodes = c.applies_to?.billable_metric_codes ?? [];
  }
  // Only the fields of its type: a fixed coupon has no rate, a percentage coupon no amount.
  if (out.couponType === 'fixed_amount') out.percentageRate = null;
  if (out.couponType === 'percentage') {
    out.amountCents = null;
    out.amountCurrency = null;
  }
  if (out.frequency !== undefined && out.frequency !== 'recurring') out.frequencyDuration = null;
  return out;
}

export function couponRoutes(ctx: RouteContext): Router {
  const r = Router();

  /** Lago: a limitation names plans / metrics of the organization (404 otherwise). */
  async function checkLimits(organizationId: string, c: Partial<NewCoupon>): Promise<void> {
    for (const code of c.planCodes ?? []) {
      if (!(await getPlanByCode(ctx.db, organizationId, code))) throw new ApiError(404, 'plan_not_found', `Plan ${code} not found`, { plan_codes: [code] });
    }
    for (const code of c.billableMetricCodes ?? []) {
      if (!(await getBillableMetricByCode(ctx.db, organizationId, code))) throw new ApiError(404, 'billable_metric_not_found', `Billable metric ${code} not found`, { billable_metric_codes: [code] });
    }
  }

  r.post('/coupons', async (req, res) => {
    const input = toNewCoupon(parseBody(CouponCreateBody, req.body).coupon) as NewCoupon;
    input.planCodes ??= [];
    input.billableMetricCodes ??= [];
    input.reusable ??= true;
    input.frequencyDuration ??= null;
    input.expirationAt ??= null;
    input.description ??= null;
    await checkLimits(orgId(res), input);
    try {
      res.json({ coupon: serializeCoupon(await createCoupon(ctx.db, orgId(res), input)) });
    } catch (err) {
      if (err instanceof DuplicateCouponCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/coupons', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { coupons, totalCount } = await listCouponsPage(ctx.db, orgId(res), page, per_page);
    res.json({ coupons: coupons.map(serializeCoupon), meta: paginationMeta(page, per_page, totalCount) });
  });

  r.get('/coupons/:code', async (req, res) => {
    const c = await getCouponByCode(ctx.db, orgId(res), req.params.code);
    if (!c) throw notFound('coupon');
    res.json({ coupon: serializeCoupon(c) });
  });

  r.put('/coupons/:code', async (req, res) => {
    const patch = toNewCoupon(parseBody(CouponUpdateBody, req.body).coupon);
    await checkLimits(orgId(res), patch);
    try {
      const c = await updateCoupon(ctx.db, orgId(res), req.params.code, patch);
      if (!c) throw notFound('coupon');
      res.json({ coupon: serializeCoupon(c) });
    } catch (err) {
      if (err instanceof DuplicateCouponCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.delete('/coupons/:code', async (req, res) => {
    const c = await deleteCoupon(ctx.db, orgId(res), req.params.code);
    if (!c) throw notFound('coupon');
    res.json({ coupon: serializeCoupon(c) });
  });

  r.post('/applied_coupons', async (req, res) => {
    const input = parseBody(AppliedCouponBody, req.body).applied_coupon;
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, input.external_customer_id);
    if (!customer) throw notFound('customer');
    const applied = await applyCoupon(ctx.db, organizationId, {
      couponCode: input.coupon_code,
      customerId: customer.id,
      customerCurrency: customer.currency,
      amountCents: input.amount_cents,
      amountCurrency: input.amount_currency,
      percentageRate: input.percentage_rate,
      frequency: input.frequency,
      frequencyDuration: input.frequency_duration,
      now: new Date(),
    });
    res.json({ applied_coupon: serializeAppliedCoupon(applied) });
  });

  r.get('/applied_coupons', async (req, res) => {
    const q = parseBody(AppliedCouponListQuery, req.query);
    const organizationId = orgId(res);
    let customerId: string | undefined;
    if (q.external_customer_id !== undefined) {
      const customer = await getCustomerByExternalId(ctx.db, organizationId, q.external_customer_id);
      if (!customer) {
        res.json({ applied_coupons: [], meta: paginationMeta(q.page, q.per_page, 0) });
        return;
      }
      customerId = customer.id;
    }
    const { appliedCoupons, totalCount } = await listAppliedCoupons(ctx.db, organizationId, { customerId, status: q.status, page: q.page, perPage: q.per_page });
    // Lago's AppliedCouponObjectExtended: each with what it took from finalized invoices (`credits`).
    const credits = await creditsOfAppliedCoupons(ctx.db, organizationId, appliedCoupons.map((a) => a.id));
    res.json({
      applied_coupons: appliedCoupons.map((a) => ({ ...serializeAppliedCoupon(a), credits: (credits.get(a.id) ?? []).map(serializeCouponCredit) })),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.delete('/customers/:external_customer_id/applied_coupons/:applied_coupon_id', async (req, res) => {
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, req.params.external_customer_id);
    if (!customer) throw notFound('customer');
    const a = await terminateAppliedCoupon(ctx.db, organizationId, customer.id, req.params.applied_coupon_id);
    if (!a) throw notFound('applied_coupon');
    res.json({ applied_coupon: serializeAppliedCoupon(a) });
  });

  return r;
}

import { Router } from 'express';
import { PlanValidationError } from '../../billing/errors';
import { planFromLagoInput } from '../../billing/lago-plan';
import { validatePlan } from '../../billing/plan-validation';
import type { BillableMetric, Plan } from '../../billing/types';
import { metricsByIdsOrCodes, toBillingMetric, type BillableMetricRecord } from '../../db/repositories/billable-metrics';
import { DuplicateCodeError } from '../../db/repositories/errors';
import { createPlan, getPlanByCode, type ChargeRecord, type NewPlan, type PlanRecord } from '../../db/repositories/plans';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { addDetail, notFound, validationError } from '../errors';
import { iso, zodIssuesToDetails, lagoErrorMap } from '../schemas/common';
import { collectNumericLimitIssues } from '../schemas/limits';
import { PlanCreateBody } from '../schemas/plans';
import { taxesOf, type TaxRecord } from '../../db/repositories/taxes';
import { serializeTax } from './taxes';
import { resolveTaxCodes } from './tax-codes';
import { fixedChargeTaxRecords, serializeFixedCharge, validateFixedChargesInput } from './fixed-charges';

/** The taxes attached to a plan and to each of its charges (for serializePlan). */
export interface PlanTaxes {
  plan: TaxRecord[];
  charges: Map<string, TaxRecord[]>;
  /** The taxes named by the plan's fixed charges (code → tax; api/routes/fixed-charges.ts). */
  fixedCharges?: Map<string, TaxRecord>;
}

export async function loadPlanTaxes(db: RouteContext['db'], organizationId: string, p: PlanRecord): Promise<PlanTaxes> {
  const [plan, charges] = await Promise.all([
    taxesOf(db, organizationId, 'plan', [p.id]),
    taxesOf(db, organizationId, 'charge', p.charges.map((c) => c.id)),
  ]);
  return { plan: plan.get(p.id) ?? [], charges, fixedCharges: await fixedChargeTaxRecords(db, organizationId, p.fixedCharges ?? []) };
}

/** A charge in Lago's ChargeObject shape (inside a plan, and alone on the nested charge routes). */
export function serializeCharge(c: ChargeRecord, taxes?: PlanTaxes) {
  return {
    lago_id: c.id,
    code: c.code,
    lago_billable_metric_id: c.billableMetricId,
    billable_metric_code: c.billableMetricCode,
    invoice_display_name: c.invoiceDisplayName,
    created_at: iso(c.createdAt),
    charge_model: c.chargeModel,
    pay_in_advance: c.payInAdvance,
    invoiceable: c.invoiceable,
    regroup_paid_fees: c.regroupPaidFees,
    prorated: c.prorated,
    min_amount_cents: c.minAmountCents,
    properties: c.properties,
    filters: c.filters.map((f) => ({
      invoice_display_name: f.invoice_display_name ?? null,
      properties: f.properties ?? {},
      values: f.values,
    })),
    taxes: (taxes?.charges.get(c.id) ?? []).map(serializeTax),
  };
}

export function serializePlan(p: PlanRecord, taxes?: PlanTaxes) {
  return {
    lago_id: p.id,
    name: p.name,
    invoice_display_name: p.name,
    // Lago's schema: a string. A plan created without one answers '' (the stored value stays NULL).
    description: p.description ?? '',
    created_at: iso(p.createdAt),
    code: p.code,
    interval: p.interval,
    amount_cents: p.amountCents,
    amount_currency: p.amountCurrency,
    trial_period: Number(p.trialPeriod),
    pay_in_advance: p.payInAdvance,
    bill_charges_monthly: null,
    minimum_commitment:
      p.minimumCommitmentAmountCents > 0
        ? {
            lago_id: p.id,
            plan_code: p.code,
            amount_cents: p.minimumCommitmentAmountCents,
            interval: p.interval,
            created_at: iso(p.createdAt),
            taxes: [],
          }
        : null,
    charges: p.charges.map((c) => serializeCharge(c, taxes)),
    fixed_charges: (p.fixedCharges ?? []).map((f) => serializeFixedCharge(f, taxes?.fixedCharges ?? new Map())),
    taxes: (taxes?.plan ?? []).map(serializeTax),
    usage_thresholds: p.usageThresholds.map((t) => ({
      lago_id: t.lago_id,
      threshold_display_name: t.threshold_display_name ?? null,
      amount_cents: t.amount_cents,
      recurring: t.recurring,
      created_at: t.created_at,
      updated_at: t.created_at,
    })),
    metadata: p.metadata ?? null, // Lago's MetadataObject (api/routes/object-metadata.ts)
  };
}

type RawCharge = { billable_metric_id?: unknown; billable_metric_code?: unknown };

/**
 * Validates a plan body exactly as POST /plans does (the billing engine's issues, then the schema's, numeric
 * limits, tax codes) before anything is written; PUT /plans/:code (api/routes/catalog-edits.ts) validates the
 * stored plan merged with its body through the same function.
 */
export function planBodyValidator(ctx: RouteContext) {
  return async (organizationId: string, rawBody: unknown) => {
    const body = (rawBody ?? {}) as { plan?: { charges?: RawCharge[]; fixed_charges?: unknown } };

    // Resolve the charges' metrics (Lago sends billable_metric_id = the metric's lago_id; the code is accepted too).
    const rawCharges = Array.isArray(body.plan?.charges) ? body.plan!.charges! : [];
    const ids = rawCharges.map((c) => c?.billable_metric_id).filter((v): v is string => typeof v === 'string');
    const codes = rawCharges.map((c) => c?.billable_metric_code).filter((v): v is string => typeof v === 'string');
    const records = await metricsByIdsOrCodes(ctx.db, organizationId, ids, codes);
    const byId = new Map<string, BillableMetricRecord>(records.map((m) => [m.id, m]));
    const byCode = new Map<string, BillableMetricRecord>(records.map((m) => [m.code, m]));
    const lookup = (ref: { code?: string; id?: string }): BillableMetric | undefined => {
      const m = (ref.id !== undefined ? byId.get(ref.id) : undefined) ?? (ref.code !== undefined ? byCode.get(ref.code) : undefined);
      return m ? toBillingMetric(m) : undefined;
    };

    // Validate everything before writing: the billing engine's issues first, then the schema's for other fields.
    const details: Record<string, string[]> = {};
    let plan: Plan | null = null;
    try {
      plan = planFromLagoInput(body, lookup);
      validatePlan(plan);
    } catch (err) {
      if (!(err instanceof PlanValidationError)) throw err;
      for (const issue of err.issues) addDetail(details, issue.field, issue.code);
    }
    const parsed = PlanCreateBody.safeParse(body, { error: lagoErrorMap });
    if (!parsed.success) {
      for (const [field, list] of Object.entries(zodIssuesToDetails(parsed.error.issues))) {
        if (!details[field] && !Object.keys(details).some((f) => f.startsWith(`${field}.`) || f.startsWith(`${field}[`))) {
          for (const code of list) addDetail(details, field, code);
        }
      }
    }
    if (parsed.success) {
      const seen = new Set<string>();
      parsed.data.plan.charges.forEach((c, i) => {
        if (c.code === undefined) return;
        if (seen.has(c.code)) addDetail(details, `charges[${i}].code`, 'value_already_exist');
        seen.add(c.code);
      });
      // Prices and tier bounds beyond what billing carries (billing/input-limits.ts) are refused here.
      parsed.data.plan.charges.forEach((c, i) => {
        collectNumericLimitIssues(c.properties, `charges[${i}].properties`, details);
        c.filters.forEach((f, j) => collectNumericLimitIssues(f.properties, `charges[${i}].filters[${j}].properties`, details));
      });
      // Billing in advance (the subscription fee at the period start, charges per event) is issued by the
      // subscription workflow since issue 11 (activities/advance-billing.ts): such plans are accepted.
    }
    // Lago's fixed charges (api/routes/fixed-charges.ts): validated with the rest, written with the plan.
    const rawFixed = body.plan?.fixed_charges;
    const fixedCharges = Array.isArray(rawFixed) ? await validateFixedChargesInput(ctx.db, organizationId, rawFixed, 'fixed_charges', details) : undefined;
    if (Object.keys(details).length > 0 || !plan || !parsed.success) throw validationError(details);
    const input = parsed.data.plan;
    // Tax codes resolved before anything is written (unknown → 404 tax_not_found naming the field).
    const planTaxes = input.tax_codes ? await resolveTaxCodes(ctx.db, organizationId, input.tax_codes, 'tax_codes') : [];
    const chargeTaxes: TaxRecord[][] = [];
    for (const [i, c] of input.charges.entries()) {
      chargeTaxes.push(c.tax_codes ? await resolveTaxCodes(ctx.db, organizationId, c.tax_codes, `charges[${i}].tax_codes`) : []);
    }
    return { plan, input, byId, byCode, planTaxes, chargeTaxes, fixedCharges };
  };
}

export type ValidatedPlan = Awaited<ReturnType<ReturnType<typeof planBodyValidator>>>;

/**
 * The validated plan body as the repository writes it (POST /plans; PUT /plans and the nested charge routes add
 * the ids of the thresholds and charges they keep). One mapper from Lago's input to the stored plan.
 */
export function newPlanOf({ plan, input, byId, byCode, planTaxes, chargeTaxes, fixedCharges }: ValidatedPlan): NewPlan {
  const codes = chargeCodes(input, byId, byCode);
  return {
    ...(fixedCharges ? { fixedCharges } : {}),
    code: input.code,
    name: input.name,
    description: input.description ?? null,
    interval: input.interval,
    amountCents: input.amount_cents,
    amountCurrency: input.amount_currency,
    payInAdvance: input.pay_in_advance,
    trialPeriod: String(plan.trialPeriodDays),
    minimumCommitmentAmountCents: plan.minimumCommitmentAmountCents,
    usageThresholds: input.usage_thresholds.map((t) => ({
      amount_cents: t.amount_cents,
      recurring: t.recurring,
      threshold_display_name: t.threshold_display_name ?? null,
    })),
    taxIds: planTaxes.map((t) => t.id),
    chargeTaxIds: chargeTaxes.map((list) => list.map((t) => t.id)),
    charges: input.charges.map((c, i) => {
      const metric =
        (c.billable_metric_id !== undefined ? byId.get(c.billable_metric_id) : undefined) ??
        (c.billable_metric_code !== undefined ? byCode.get(c.billable_metric_code) : undefined);
      return {
        code: codes[i]!,
        billableMetricId: metric!.id,
        chargeModel: c.charge_model,
        payInAdvance: c.pay_in_advance,
        invoiceable: c.invoiceable,
        regroupPaidFees: c.regroup_paid_fees,
        prorated: c.prorated,
        minAmountCents: c.min_amount_cents,
        invoiceDisplayName: c.invoice_display_name ?? null,
        properties: c.properties,
        filters: c.filters.map((f) => ({
          ...(f.lago_id !== undefined ? { lago_id: f.lago_id } : {}),
          invoice_display_name: f.invoice_display_name ?? null,
          properties: f.properties,
          values: f.values,
        })),
      };
    }),
  };
}

/**
 * Each charge's code: the one sent, else its billable metric's code, else that code + `_2`, `_3`… (the first
 * free one in the plan). Codes sent twice are refused by planBodyValidator.
 */
function chargeCodes(input: ValidatedPlan['input'], byId: ValidatedPlan['byId'], byCode: ValidatedPlan['byCode']): string[] {
  const taken = new Set(input.charges.map((c) => c.code).filter((c): c is string => c !== undefined));
  return input.charges.map((c) => {
    if (c.code !== undefined) return c.code;
    const metric = (c.billable_metric_id !== undefined ? byId.get(c.billable_metric_id) : undefined) ?? byCode.get(c.billable_metric_code ?? '');
    const base = metric!.code;
    let code = base;
    for (let n = 2; taken.has(code); n++) code = `${base}_${n}`;
    taken.add(code);
    return code;
  });
}

export function planRoutes(ctx: RouteContext): Router {
  const r = Router();
  const validatePlanBody = planBodyValidator(ctx);

  r.post('/plans', async (req, res) => {
    const organizationId = orgId(res);
    const validated = await validatePlanBody(organizationId, req.body);
    try {
      const created = await createPlan(ctx.db, organizationId, newPlanOf(validated));
      ctx.catalogChanged(organizationId); // charge filters/group keys change the rollup dimensions
      res.status(200).json({ plan: serializePlan(created, await loadPlanTaxes(ctx.db, organizationId, created)) });
    } catch (err) {
      if (err instanceof DuplicateCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/plans/:code', async (req, res) => {
    const plan = await getPlanByCode(ctx.db, orgId(res), req.params.code);
    if (!plan) throw notFound('plan');
    res.json({ plan: serializePlan(plan, await loadPlanTaxes(ctx.db, orgId(res), plan)) });
  });

  return r;
}

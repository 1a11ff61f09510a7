// The stored plan as Lago's plan input (the base PUT /plans, the nested charge routes and plan overrides merge their
// bodies onto), and the signal telling subscription workflows that their billing rules changed. Moved here from
// api/routes/catalog-edits.ts (which re-exports them) so api/services/plan-overrides.ts can use them without a cycle.
import type { PlanRecord } from '../../db/repositories/plans';
import { billingRulesChangedSignal, subscriptionWorkflowId } from '../../workflows/messages';
import type { RouteContext } from '../context';
import { loadPlanTaxes } from '../routes/plans';

/** The stored plan as Lago's create input (charges with code, filters with lago_id), charges with their `id` (the base a PUT body is merged onto). */
export async function planInput(ctx: RouteContext, organizationId: string, p: PlanRecord) {
  const taxes = await loadPlanTaxes(ctx.db, organizationId, p);
  return {
    name: p.name,
    code: p.code,
    description: p.description,
    interval: p.interval,
    amount_cents: p.amountCents,
    amount_currency: p.amountCurrency,
    pay_in_advance: p.payInAdvance,
    trial_period: Number(p.trialPeriod),
    minimum_commitment: p.minimumCommitmentAmountCents > 0 ? { amount_cents: p.minimumCommitmentAmountCents } : null,
    usage_thresholds: p.usageThresholds.map((t) => ({
      lago_id: t.lago_id,
      amount_cents: t.amount_cents,
      recurring: t.recurring,
      threshold_display_name: t.threshold_display_name,
    })),
    tax_codes: taxes.plan.map((t) => t.code),
    charges: p.charges.map((c) => ({
      id: c.id,
      ...(c.code !== null ? { code: c.code } : {}),
      billable_metric_id: c.billableMetricId,
      charge_model: c.chargeModel,
      pay_in_advance: c.payInAdvance,
      invoiceable: c.invoiceable,
      regroup_paid_fees: c.regroupPaidFees,
      prorated: c.prorated,
      min_amount_cents: c.minAmountCents,
      invoice_display_name: c.invoiceDisplayName,
      properties: c.properties,
      filters: c.filters,
      tax_codes: (taxes.charges.get(c.id) ?? []).map((t) => t.code),
    })),
  };
}

/**
 * Tells the workflows of the given subscriptions that their billing rules changed (they reload plan thresholds and
 * alerts at once; the period's invoice is computed from Postgres at close anyway). A workflow that cannot be
 * reached is logged, not an error: the change is already durable and it reloads its rules each period.
 */
export async function tellSubscriptions(ctx: RouteContext, subscriptionIds: string[]): Promise<void> {
  for (const id of subscriptionIds) {
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(id)).signal(billingRulesChangedSignal);
    } catch (err) {
      ctx.logger.warn('could not tell a subscription workflow that its plan changed; it reloads its rules at its next period', {
        subscriptionId: id,
        error: (err as Error)?.message,
      });
    }
  }
}


import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startSubscriptionWorkflow, subscriptionScheduleOf } from '../../contracts/subscription-start';
import { Router } from 'express';
import type { ScheduleInput } from '../../billing/period';
import { getPlanByCode } from '../../db/repositories/plans';
import { assignCustomerCurrencyIfUnset, getCustomerByExternalId } from '../../db/repositories/customers';
import {
  getSubscriptionByExternalId,
  insertSubscription,
  listSubscriptions,
  type SubscriptionRecord,
} from '../../db/repositories/subscriptions';
import {
  SUBSCRIPTION_TASK_QUEUE,
  subscriptionWorkflowId,
  terminateUpdate,
  type SubscriptionWorkflowState,
  type TerminateRequest,
  type TerminateResult,
} from '../../workflows/messages';
import { defaultTimezoneOf, orgId } from '../auth';
import { sendWhilePeriodCloses } from '../services/period-closing-wait';
import type { RouteContext } from '../context';
import { ApiError, notFound, validationError, type Logger } from '../errors';
import { iso, paginationMeta, parseBody } from '../schemas/common';
import { currencyError, subscriptionCurrencyViolation } from '../currency-policy';
import { subscriptionAtViolation } from '../schemas/dates';
import { SubscriptionCreateBody, SubscriptionListQuery, SubscriptionUpdateBody, subscriptionStatusFilter, type SubscriptionCreateInput } from '../schemas/subscriptions';
import { changeSubscriptionPlan, updateSubscription } from '../services/subscription-changes';
import { planChangeViews, type PlanChangeView } from '../../db/repositories/plan-changes';
import { clockTimesById } from '../../db/repositories/test-clocks';
import { firstBilledPeriod, trialEndsAt } from '../../billing/plan-change';
import { openPeriodAt } from '../../usage/open-period';
import { testClockForNewSubscription } from '../services/test-clock-time';
import { moveSubscriptionStart } from '../services/pending-start';
import { overrideWritten, prepareOverride, writeOverride } from '../services/plan-overrides';
import { storeTerminationOptions, terminationOptionFields } from '../services/termination-options';
import { subscriptionNow } from '../services/subscription-now';
import { changePlanWithOverrides } from '../services/plan-change-overrides';
import { knownBillingEntityCodes } from './billing-entities';

export function scheduleOf(s: SubscriptionRecord, defaultTimezone: string): ScheduleInput {
  return subscriptionScheduleOf(s, defaultTimezone);
}

export function serializeSubscription(s: SubscriptionRecord, defaultTimezone = 'UTC', now = new Date(), change?: PlanChangeView) {
  let periodStart: string | null = null;
  let periodEnd: string | null = null;
  if (s.status === 'active' && now.getTime() >= s.subscriptionAt.getTime()) {
    try {
      const pair = openPeriodAt(scheduleOf(s, defaultTimezone), now.toISOString());
      // Plan changes / migration start: the open period starts no earlier than the current plan / billing start.
      const floor = Math.max(Date.parse(change?.planChangedAt ?? pair.period.start), s.billingStartsAt?.getTime() ?? 0);
      periodStart = floor > Date.parse(pair.period.start) && floor < Date.parse(pair.period.end) ? new Date(floor).toISOString() : pair.period.start;
      periodEnd = pair.period.end;
    } catch {
      // An unexpected schedule problem must not break a read: the period fields stay null.
    }
  }
  return {
    lago_id: s.id,
    external_id: s.externalId,
    lago_customer_id: s.customerId,
    external_customer_id: s.externalCustomerId,
    billing_entity_code: s.billingEntityCode,
    name: s.name,
    plan_code: s.planCode,
    plan_amount_cents: s.planAmountCents,
    plan_amount_currency: s.planAmountCurrency,
    status: s.status,
    billing_time: s.billingTime,
    subscription_at: iso(s.subscriptionAt),
    started_at: iso(s.startedAt),
    ending_at: iso(s.endingAt),
    terminated_at: iso(s.terminatedAt),
    canceled_at: null,
    created_at: iso(s.createdAt),
    previous_plan_code: change?.previousPlanCode ?? null,
    next_plan_code: change?.nextPlanCode ?? null,
    downgrade_plan_date: change?.downgradePlanDate ?? null,
    trial_ended_at: trialEndedAt(s, defaultTimezone, now),
    current_billing_period_started_at: periodStart,
    current_billing_period_ending_at: periodEnd,
    // The stored options or Lago's defaults (api/services/termination-options.ts).
    ...terminationOptionFields(s),
  };
}

/** Lago's trial_ended_at: when the plan's trial ended (subscription_at + trial_period days), null before and without one. */
function trialEndedAt(s: SubscriptionRecord, defaultTimezone: string, now: Date): string | null {
  try {
    const end = trialEndsAt(s.subscriptionAt.toISOString(), Number(s.planTrialPeriod), s.customerTimezone ?? defaultTimezone);
    return end !== null && Date.parse(end) <= now.getTime() ? end : null;
  } catch {
    return null;
  }
}

/** Serializes subscriptions with their plan-change fields (one query for all of them) and, on a test clock, the
 * clock's current period and trial end: every list and read of subscriptions answers through it. */
export async function serializeAll(ctx: RouteContext, organizationId: string, subs: SubscriptionRecord[], defaultTimezone: string) {
  const views = await planChangeViews(ctx.db, organizationId, subs.map((s) => s.id));
  const now = new Date();
  // On a test clock the current billing period and trial_ended_at are the clock's (issue 11, test clocks).
  const clocks = await clockTimesById(ctx.db, organizationId, subs.flatMap((s) => (s.testClockId ? [s.testClockId] : [])));
  return subs.map((s) => serializeSubscription(s, defaultTimezone, (s.testClockId ? clocks.get(s.testClockId) : undefined) ?? now, views.get(s.id)));
}

/** Start the subscription's workflow unless it already runs (USE_EXISTING) or already ended (REJECT_DUPLICATE). */
export async function ensureSubscriptionWorkflow(
  temporal: Client,
  s: SubscriptionRecord,
  defaultTimezone: string,
  taskQueue: string = SUBSCRIPTION_TASK_QUEUE,
  logger?: Logger,
): Promise<void> {
  if (s.status === 'terminated') return;
  const state: SubscriptionWorkflowState = {
    version: 1,
    organizationId: s.organizationId,
    subscriptionId: s.id,
    externalSubscriptionId: s.externalId,
    externalCustomerId: s.externalCustomerId,
    planCode: s.planCode,
    schedule: scheduleOf(s, defaultTimezone),
    liveUsage: {},
    closedPeriods: 0,
    usageSignalsReceived: 0,
    ...(s.testClockId ? { testClockId: s.testClockId } : {}),
    // Migration start: the first period billed is the one containing billing_starts_at, clipped there.
    ...(s.billingStartsAt ? { current: firstBilledPeriod(scheduleOf(s, defaultTimezone), s.billingStartsAt.toISOString()) } : {}),
    ...(s.endingAt ? { endingAt: s.endingAt.toISOString() } : {}),
  };
  await startSubscriptionWorkflow(temporal, s, state, { taskQueue, workflowIdReusePolicy: 'REJECT_DUPLICATE', logger });
}

/** The update id of a subscription's termination: one per subscription (a business id, never random). */
export function terminationUpdateId(subscriptionId: string): string {
  return `terminate:${subscriptionId}`;
}

/**
 * Run the termination update once per subscription: a retry joins the running one (same update id); when the
 * workflow has already completed (the first call terminated it and the API died before recording it), the
 * workflow's own result (its TerminateResult) is the answer.
 */
async function terminateOnce(handle: WorkflowHandle, subscriptionId: string, request: TerminateRequest = {}): Promise<TerminateResult> {
  try {
    return await sendWhilePeriodCloses(() => handle.executeUpdate(terminateUpdate, { args: [request], updateId: terminationUpdateId(subscriptionId) }));
  } catch (err) {
    if (!isWorkflowCompleted(err)) throw err;
    const description = await handle.describe();
    if (description.status.name !== 'COMPLETED') throw err;
    const result = (await handle.result()) as TerminateResult | undefined;
    if (!result || typeof result.terminatedAt !== 'string') throw err;
    return result;
  }
}

function isWorkflowCompleted(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const text = `${(err as Error)?.message ?? ''} ${String((err as Error)?.cause ?? '')}`;
  return /workflow execution already completed|already completed/i.test(text);
}

/** Overrides of an existing subscription's plan: validated, then written in one transaction; its workflow told. */
async function applyOverrides(ctx: RouteContext, organizationId: string, s: SubscriptionRecord, overrides: NonNullable<SubscriptionCreateInput['plan_overrides']>) {
  if (s.status === 'terminated') throw validationError({ plan_overrides: ['subscription_terminated'] });
  const prepared = await prepareOverride(ctx, organizationId, s.planId, overrides);
  await ctx.db.transaction((trx) => writeOverride(trx, organizationId, prepared, s.id));
  await overrideWritten(ctx, organizationId, [s.id]);
}

export function subscriptionRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/subscriptions', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(SubscriptionCreateBody, req.body).subscription;
    const [customer, plan] = await Promise.all([
      getCustomerByExternalId(ctx.db, organizationId, input.external_customer_id),
      getPlanByCode(ctx.db, organizationId, input.plan_code),
    ]);
    if (!customer) throw notFound('customer');
    if (!plan) throw notFound('plan');

    // Test clocks (api/services/test-clock-time.ts): a subscription created on a clock lives on its time.
    const clock = await testClockForNewSubscription(ctx, organizationId, input.test_clock_id);
    const now = clock ? clock.frozenTime : new Date();
    // Default start: now, at whole-second precision (as Lago shows it), so an event sent in the same second
    // as the subscription (unix-seconds timestamp) is inside the first period.
    const subscriptionAt = input.subscription_at ? new Date(input.subscription_at) : new Date(Math.floor(now.getTime() / 1000) * 1000);
    const outOfBounds = subscriptionAtViolation(subscriptionAt, now);
    if (outOfBounds) throw validationError({ subscription_at: [outOfBounds] });
    // Currencies (api/currency-policy.ts): a customer without one takes the plan's (Lago); a different one is refused.
    const currencyViolation = subscriptionCurrencyViolation(customer.currency, plan.amountCurrency);
    if (currencyViolation) throw currencyError(currencyViolation);
    if (customer.currency === null) {
      const assigned = await assignCustomerCurrencyIfUnset(ctx.db, organizationId, customer.id, plan.amountCurrency);
      const raced = subscriptionCurrencyViolation(assigned.currency, plan.amountCurrency);
      if (raced) throw currencyError(raced);
    }
    const pending = subscriptionAt.getTime() > now.getTime();
    const billingStartsAt = input.billing_starts_at ? new Date(input.billing_starts_at) : null;
    if (billingStartsAt && billingStartsAt.getTime() < subscriptionAt.getTime()) throw validationError({ billing_starts_at: ['before_subscription_at'] });
    if (billingStartsAt && billingStartsAt.getTime() > now.getTime()) throw validationError({ billing_starts_at: ['too_far_in_future'] });
    const endingAt = input.ending_at ? new Date(input.ending_at) : null;
    if (endingAt && endingAt.getTime() <= Math.max(now.getTime(), subscriptionAt.getTime())) throw validationError({ ending_at: ['invalid_date'] });
    // Plan overrides (api/services/plan-overrides.ts): validated before anything is written; a new subscription and
    // its child plan commit together.
    const overrides = input.plan_overrides ?? null;
    const prepared = overrides ? await prepareOverride(ctx, organizationId, plan.id, overrides) : null;
    const inserted = await ctx.db.transaction(async (trx) => {
      const result = await insertSubscription(trx, organizationId, {
      customerId: customer.id,
      planId: plan.id,
      externalId: input.external_id,
      name: input.name ?? null,
      status: pending ? 'pending' : 'active',
      billingTime: input.billing_time,
      subscriptionAt: subscriptionAt.toISOString(),
      startedAt: pending ? null : subscriptionAt.toISOString(),
      testClockId: clock?.id ?? null,
      endingAt: endingAt?.toISOString() ?? null,
      billingStartsAt: billingStartsAt?.toISOString() ?? null,
      });
      if (result.created && prepared) await writeOverride(trx, organizationId, prepared, result.subscription.id, { fromStart: true });
      return result;
    });
    const created = inserted.created;
    let subscription = inserted.subscription;
    if (created && prepared) subscription = (await getSubscriptionByExternalId(ctx.db, organizationId, subscription.externalId))!;
    // Another customer's id is refused; another plan is a plan change (Lago): api/services/subscription-changes.ts.
    if (!created && subscription.customerId !== customer.id) throw validationError({ external_id: ['value_already_exist'] });
    // An overridden subscription's plan is a child of the catalog plan: the same plan.
    const samePlan = subscription.planId === plan.id || subscription.planParentId === plan.id;
    if (!created && samePlan && overrides) {
      // The same request again (a retry of a create with overrides), or overrides of the existing subscription: applied to its plan.
      await applyOverrides(ctx, organizationId, subscription, overrides);
      subscription = (await getSubscriptionByExternalId(ctx.db, organizationId, subscription.externalId))!;
    }
    // Termination options given (issue 11): stored on the subscription (api/services/termination-options.ts).
    const withOptions = await storeTerminationOptions(ctx.db, subscription, input);
    if (!created && !samePlan) {
      // On a test clock, the change happens at the clock's time (api/services/subscription-now.ts). With plan_overrides,
      // the overrides apply to the new plan (api/services/plan-change-overrides.ts).
      const changeAt = await subscriptionNow(ctx.db, subscription, now);
      if (overrides) await changePlanWithOverrides(ctx, organizationId, subscription, plan, overrides, changeAt);
      else await changeSubscriptionPlan(ctx, organizationId, subscription, plan, changeAt);
      ctx.cache.invalidateSubscription(organizationId, subscription.externalId);
      const [changed] = await serializeAll(ctx, organizationId, [(await getSubscriptionByExternalId(ctx.db, organizationId, subscription.externalId))!], defaultTimezoneOf(res));
      res.status(200).json({ subscription: changed });
      return;
    }
    // The current plan again while a downgrade is pending cancels the downgrade (no-op otherwise).
    if (!created && subscription.status === 'active') await changeSubscriptionPlan(ctx, organizationId, subscription, plan, await subscriptionNow(ctx.db, subscription, now));
    // Also heals an earlier attempt whose row was written but whose workflow start failed.
    await ensureSubscriptionWorkflow(ctx.temporal, subscription, defaultTimezoneOf(res), ctx.taskQueue, ctx.logger);
    ctx.cache.invalidateSubscription(organizationId, subscription.externalId);
    res.status(200).json({ subscription: (await serializeAll(ctx, organizationId, [withOptions], defaultTimezoneOf(res)))[0] });
  });

  r.put('/subscriptions/:external_id', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(SubscriptionUpdateBody, req.body).subscription;
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, req.params.external_id);
    if (!s) throw notFound('subscription');
    const { subscription_at: subscriptionAt, plan_overrides: overrides, on_termination_invoice: oti, on_termination_credit_note: otcn, ...terms } = input;
    // Plan overrides are validated first (nothing written on a refusal) and written last.
    if (overrides && s.status === 'terminated') throw validationError({ plan_overrides: ['subscription_terminated'] });
    const prepared = overrides ? await prepareOverride(ctx, organizationId, s.planId, overrides) : null;
    // A pending subscription's start (issue 11): moved first, so a refusal leaves name / ending_at unchanged.
    // On a test clock, "in the future" is after the clock's time (api/services/subscription-now.ts).
    if (subscriptionAt !== undefined) await moveSubscriptionStart(ctx, organizationId, s, subscriptionAt, await subscriptionNow(ctx.db, s, new Date()));
    // ending_at is judged against the subscription's own time: its test clock's when it lives on one.
    await updateSubscription(ctx, organizationId, s, terms, await subscriptionNow(ctx.db, s, new Date()));
    await storeTerminationOptions(ctx.db, s, { on_termination_invoice: oti, on_termination_credit_note: otcn });
    if (prepared) {
      await ctx.db.transaction((trx) => writeOverride(trx, organizationId, prepared, s.id));
      await overrideWritten(ctx, organizationId, [s.id]);
    }
    ctx.cache.invalidateSubscription(organizationId, s.externalId);
    const after = (await getSubscriptionByExternalId(ctx.db, organizationId, s.externalId))!;
    res.json({ subscription: (await serializeAll(ctx, organizationId, [after], defaultTimezoneOf(res)))[0] });
  });

  r.get('/subscriptions', async (req, res) => {
    const q = parseBody(SubscriptionListQuery, req.query);
    const statuses = subscriptionStatusFilter(req.query, ['active']);
    const { subscriptions, totalCount } = await listSubscriptions(ctx.db, orgId(res), {
      billingEntityCodes: await knownBillingEntityCodes(ctx.db, orgId(res), q),
      externalCustomerId: q.external_customer_id,
      planCode: q.plan_code,
      statuses,
      page: q.page,
      perPage: q.per_page,
    });
    res.json({
      subscriptions: await serializeAll(ctx, orgId(res), subscriptions, defaultTimezoneOf(res)),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.get('/subscriptions/:external_id', async (req, res) => {
    const s = await getSubscriptionByExternalId(ctx.db, orgId(res), req.params.external_id);
    if (!s) throw notFound('subscription');
    res.json({ subscription: (await serializeAll(ctx, orgId(res), [s], defaultTimezoneOf(res)))[0] });
  });

  // Idempotent (issue 8): a DELETE of an already terminated subscription answers what the first DELETE answered
  // (200, the terminated subscription). Lago answers 404 there; a client retrying after a lost response cannot
  // tell, so we chose idempotency. The workflow marks the row terminated itself, so this also covers an API
  // that died between the termination and its answer.
  r.delete('/subscriptions/:external_id', async (req, res) => {
    const organizationId = orgId(res);
    // Lago's on_termination_invoice (query): generate (default) | skip (no termination invoice). Pay in advance, issue 11.
    const onTerminationInvoice = req.query.on_termination_invoice ?? 'generate';
    if (onTerminationInvoice !== 'generate' && onTerminationInvoice !== 'skip') throw validationError({ on_termination_invoice: ['value_is_invalid'] });
    // Lago's on_termination_credit_note (query): credit (default: the unused advance fee credited) | refund (its paid
    // part refunded through the payment provider, the rest credited: activities/unused-fee-refund.ts) | skip.
    const onTerminationCreditNote = req.query.on_termination_credit_note ?? 'credit';
    if (onTerminationCreditNote !== 'credit' && onTerminationCreditNote !== 'refund' && onTerminationCreditNote !== 'skip') throw validationError({ on_termination_credit_note: ['value_is_invalid'] });
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, req.params.external_id);
    if (!s) throw notFound('subscription');
    if (s.status === 'terminated') {
      res.json({ subscription: serializeSubscription(s, defaultTimezoneOf(res)) });
      return;
    }
    // The query's options are stored too (Lago), so the subscription shows what its termination used.
    await storeTerminationOptions(ctx.db, s, { on_termination_invoice: req.query.on_termination_invoice === undefined ? undefined : onTerminationInvoice, on_termination_credit_note: req.query.on_termination_credit_note === undefined ? undefined : onTerminationCreditNote });
    const handle = ctx.temporal.workflow.getHandle(subscriptionWorkflowId(s.id));
    try {
      // Idempotent (issue 8): the update id is the business key, so a DELETE retried while the first one's
      // termination is still running attaches to it (Temporal deduplicates updates by id) instead of getting
      // termination_in_progress; once the workflow has completed, its result is the first call's result. The update
      // returns once the workflow's markSubscriptionTerminated activity has written the row (the one write of a
      // termination).
      await terminateOnce(handle, s.id, {
        // Only options given in the query: the workflow takes the stored ones for the rest (termination-options-v1).
        ...(req.query.on_termination_invoice !== undefined ? { onTerminationInvoice } : {}),
        ...(req.query.on_termination_credit_note !== undefined ? { onTerminationCreditNote } : {}),
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const type = err.cause.type ?? 'termination_failed';
        if (type === 'already_terminated') {
          // Terminated by an earlier call whose answer was lost: that call's result (the row the workflow marked).
          const done = await getSubscriptionByExternalId(ctx.db, organizationId, s.externalId);
          if (done?.status === 'terminated') {
            res.json({ subscription: serializeSubscription(done, defaultTimezoneOf(res)) });
            return;
          }
          throw notFound('subscription');
        }
        throw new ApiError(422, 'validation_errors', err.cause.message, { base: [type] });
      }
      throw err;
    }
    ctx.cache.invalidateSubscription(organizationId, s.externalId);
    const after = (await getSubscriptionByExternalId(ctx.db, organizationId, s.externalId))!;
    res.json({ subscription: serializeSubscription(after, defaultTimezoneOf(res)) });
  });

  return r;
}

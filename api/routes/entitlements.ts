// Lago 1.51's entitlements (tag `entitlements`, issue 13, ops13f): features granted to a plan, and per-subscription
// overrides layered on the plan's.
//   POST   /plans/:code/entitlements                                   replaces ALL the plan's entitlements → {entitlements}
//   PATCH  /plans/:code/entitlements                                   adds features / sets values, others kept → {entitlements}
//   GET    /plans/:code/entitlements[/:feature_code]                   → {entitlements} | {entitlement}
//   DELETE /plans/:code/entitlements/:feature_code                     the feature off the plan → {entitlement} (as it was)
//   DELETE /plans/:code/entitlements/:feature_code/privileges/:code    one value off the plan's entitlement → {entitlement}
//   GET    /subscriptions/:external_id/entitlements                    the effective view (plan + overrides) → {entitlements}
//   PATCH  /subscriptions/:external_id/entitlements                    override values / add features → {entitlements}
//   DELETE /subscriptions/:external_id/entitlements/:feature_code      the override gone, the plan's stays → {entitlement}
//   DELETE /subscriptions/:external_id/entitlements/:feature_code/privileges/:code   one override value gone → {entitlement}
// Body: EntitlementUpdateInput `{entitlements: {feature_code: {privilege_code: value}}}`; checks in
// api/services/entitlements.ts (404 feature_not_found / privilege_not_found, 422 `<privilege>_privilege_value`).
// - Plans are named by their catalog code (a plan override's child plan is never addressed here; its subscriptions
//   read their catalog plan's entitlements). A deleted plan is 404 plan_not_found.
// - Each write is one transaction that locks the plan or subscription row first and checks the features inside it,
//   so a replace-all racing a PATCH or a feature's deletion leaves one of them whole, never a mix.
// - `subscription_status` (default active) picks the subscription as the charge routes do; a terminated
//   subscription's entitlements can be read, not changed (422 `subscription: subscription_terminated`).
// - DELETE of a subscription's feature that it has no override of changes nothing and answers the plan's view
//   (idempotent); a feature in neither the plan nor the overrides is 404 entitlement_not_found.
import { Router, type Response } from 'express';
import type { Knex } from 'knex';
import {
  deleteAllEntitlements,
  deleteEntitlement,
  deleteEntitlementValue,
  lockPlanForEntitlements,
  lockSubscriptionForEntitlements,
  upsertEntitlements,
  type EntitlementOwner,
} from '../../db/repositories/entitlements';
import { getPlanByCode, getPlanById } from '../../db/repositories/plans';
import { getSubscriptionByExternalId, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { parseBody } from '../schemas/common';
import { EntitlementUpdateBody } from '../schemas/entitlements';
import { SubscriptionStatusQuery } from '../schemas/subscription-charges';
import {
  planEntitlementsOf,
  resolveGrants,
  serializePlanEntitlement,
  serializeSubscriptionEntitlement,
  subscriptionEntitlementsOf,
  type SubscriptionEntitlementView,
} from '../services/entitlements';

export function entitlementRoutes(ctx: RouteContext): Router {
  const r = Router();
  const plans = '/plans/:code/entitlements';
  const subs = '/subscriptions/:external_id/entitlements';

  // ---- plans ---------------------------------------------------------------------------------------------------

  const planIdOf = async (res: Response, code: string): Promise<string> => {
    const plan = await getPlanByCode(ctx.db, orgId(res), code);
    if (!plan) throw notFound('plan');
    return plan.id;
  };
  const planList = async (res: Response, planId: string) => (await planEntitlementsOf(ctx.db, orgId(res), planId)).map((x) => serializePlanEntitlement(x.feature, x.entitlement));
  const planEntitlement = async (res: Response, planId: string, featureCode: string) => {
    const found = (await planEntitlementsOf(ctx.db, orgId(res), planId)).find((x) => x.feature.code === featureCode);
    if (!found) throw notFound('entitlement');
    return found;
  };

  /** Writes the plan's entitlements in one transaction (`replace`: all others removed first). */
  const writePlan = async (res: Response, planId: string, body: unknown, replace: boolean) => {
    const organizationId = orgId(res);
    const input = parseBody(EntitlementUpdateBody, body).entitlements;
    await ctx.db.transaction(async (trx) => {
      if (!(await lockPlanForEntitlements(trx, organizationId, planId))) throw notFound('plan');
      const grants = await resolveGrants(trx, organizationId, input);
      if (replace) await deleteAllEntitlements(trx, organizationId, { planId });
      await upsertEntitlements(trx, organizationId, { planId }, grants);
    });
  };

  r.post(plans, async (req, res) => {
    const planId = await planIdOf(res, req.params.code);
    await writePlan(res, planId, req.body, true);
    res.json({ entitlements: await planList(res, planId) });
  });

  r.patch(plans, async (req, res) => {
    const planId = await planIdOf(res, req.params.code);
    await writePlan(res, planId, req.body, false);
    res.json({ entitlements: await planList(res, planId) });
  });

  r.get(plans, async (req, res) => {
    res.json({ entitlements: await planList(res, await planIdOf(res, req.params.code)) });
  });

  r.get(`${plans}/:feature_code`, async (req, res) => {
    const { feature, entitlement } = await planEntitlement(res, await planIdOf(res, req.params.code), req.params.feature_code);
    res.json({ entitlement: serializePlanEntitlement(feature, entitlement) });
  });

  r.delete(`${plans}/:feature_code`, async (req, res) => {
    const organizationId = orgId(res);
    const planId = await planIdOf(res, req.params.code);
    const removed = await ctx.db.transaction(async (trx) => {
      if (!(await lockPlanForEntitlements(trx, organizationId, planId))) throw notFound('plan');
      const found = (await planEntitlementsOf(trx, organizationId, planId)).find((x) => x.feature.code === req.params.feature_code);
      if (!found) throw notFound('entitlement');
      await deleteEntitlement(trx, organizationId, { planId }, found.feature.id);
      return found;
    });
    res.json({ entitlement: serializePlanEntitlement(removed.feature, removed.entitlement) });
  });

  r.delete(`${plans}/:feature_code/privileges/:privilege_code`, async (req, res) => {
    const organizationId = orgId(res);
    const planId = await planIdOf(res, req.params.code);
    await ctx.db.transaction(async (trx) => {
      if (!(await lockPlanForEntitlements(trx, organizationId, planId))) throw notFound('plan');
      const found = (await planEntitlementsOf(trx, organizationId, planId)).find((x) => x.feature.code === req.params.feature_code);
      if (!found) throw notFound('entitlement');
      const privilege = found.feature.privileges.find((p) => p.code === req.params.privilege_code);
      if (!privilege || !found.entitlement.values.has(privilege.id)) throw notFound('privilege');
      await deleteEntitlementValue(trx, organizationId, found.entitlement.id, privilege.id);
    });
    const { feature, entitlement } = await planEntitlement(res, planId, req.params.feature_code);
    res.json({ entitlement: serializePlanEntitlement(feature, entitlement) });
  });

  // ---- subscriptions -------------------------------------------------------------------------------------------

  /** The subscription of the external id in the requested status (Lago's lookup), else 404. */
  const subscriptionOf = async (res: Response, externalId: string, query: unknown): Promise<SubscriptionRecord> => {
    const { subscription_status: status } = parseBody(SubscriptionStatusQuery, query);
    const s = await getSubscriptionByExternalId(ctx.db, orgId(res), externalId);
    const matches = s !== null && (status === 'canceled' ? s.status === 'terminated' && s.startedAt === null : s.status === status);
    if (!s || !matches) throw notFound('subscription');
    return s;
  };
  /** The plan whose entitlements the subscription has: its catalog plan (a plan override's child reads its parent's). */
  const catalogPlanIdOf = async (res: Response, s: SubscriptionRecord): Promise<string> => {
    const plan = await getPlanById(ctx.db, orgId(res), s.planId);
    return plan?.parentId ?? s.planId;
  };
  const viewOf = async (res: Response, s: SubscriptionRecord): Promise<SubscriptionEntitlementView[]> =>
    subscriptionEntitlementsOf(ctx.db, orgId(res), await catalogPlanIdOf(res, s), s.id);
  const writable = (s: SubscriptionRecord) => {
    if (s.status === 'terminated') throw validationError({ subscription: ['subscription_terminated'] });
  };

  /** Runs `edit` in one transaction holding the subscription's row lock. */
  const editOverrides = async (res: Response, s: SubscriptionRecord, edit: (trx: Knex.Transaction, owner: EntitlementOwner) => Promise<void>) => {
    const organizationId = orgId(res);
    await ctx.db.transaction(async (trx) => {
      if (!(await lockSubscriptionForEntitlements(trx, organizationId, s.id))) throw notFound('subscription');
      await edit(trx, { subscriptionId: s.id });
    });
  };

  r.get(subs, async (req, res) => {
    const s = await subscriptionOf(res, req.params.external_id, req.query);
    res.json({ entitlements: (await viewOf(res, s)).map(serializeSubscriptionEntitlement) });
  });

  r.patch(subs, async (req, res) => {
    const s = await subscriptionOf(res, req.params.external_id, req.query);
    const input = parseBody(EntitlementUpdateBody, req.body).entitlements;
    writable(s);
    await editOverrides(res, s, async (trx, owner) => upsertEntitlements(trx, orgId(res), owner, await resolveGrants(trx, orgId(res), input)));
    res.json({ entitlements: (await viewOf(res, s)).map(serializeSubscriptionEntitlement) });
  });

  r.delete(`${subs}/:feature_code`, async (req, res) => {
    const s = await subscriptionOf(res, req.params.external_id, req.query);
    writable(s);
    const before = (await viewOf(res, s)).find((v) => v.feature.code === req.params.feature_code);
    if (!before) throw notFound('entitlement');
    if (before.override) await editOverrides(res, s, (trx, owner) => deleteEntitlement(trx, orgId(res), owner, before.feature.id));
    const after = (await viewOf(res, s)).find((v) => v.feature.code === req.params.feature_code);
    res.json({ entitlement: serializeSubscriptionEntitlement(after ?? before) });
  });

  r.delete(`${subs}/:feature_code/privileges/:privilege_code`, async (req, res) => {
    const s = await subscriptionOf(res, req.params.external_id, req.query);
    writable(s);
    const before = (await viewOf(res, s)).find((v) => v.feature.code === req.params.feature_code);
    if (!before) throw notFound('entitlement');
    const privilege = before.feature.privileges.find((p) => p.code === req.params.privilege_code);
    if (!privilege || (!before.plan?.values.has(privilege.id) && !before.override?.values.has(privilege.id))) throw notFound('privilege');
    if (before.override?.values.has(privilege.id)) await editOverrides(res, s, (trx) => deleteEntitlementValue(trx, orgId(res), before.override!.id, privilege.id));
    const after = (await viewOf(res, s)).find((v) => v.feature.code === req.params.feature_code);
    res.json({ entitlement: serializeSubscriptionEntitlement(after ?? before) });
  });

  return r;
}

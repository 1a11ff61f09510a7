// Lago 1.51's features (tag `features`, issue 13, ops13f):
//   POST   /features                                      {feature: {code, name?, description?, privileges?}} → {feature}
//   GET    /features?page&per_page&search_term            → {features, meta}
//   GET    /features/:code                                → {feature}
//   PUT    /features/:code                                {feature: {name?, description?, privileges?}} → {feature}
//   DELETE /features/:code                                → {feature} (as it was); gone from every plan and subscription
//   DELETE /features/:code/privileges/:privilege_code     → {feature} (without it); its values gone everywhere
// Rules: codes unique per organization (422 `code: value_already_exist`) and per feature (`privileges[i].code`);
// value_type defaults to string; a select privilege needs config.select_options, other types take none
// (`privileges[i].config.select_options`). PUT adds the privileges it names that are new and renames / re-options
// the existing ones; privileges it does not name stay (removal is DELETE …/privileges/:code). A privilege's
// value_type cannot change once it exists (`privileges[i].value_type: cannot_be_changed`: stored values are typed by
// it), and new select_options must still contain every value plans and subscriptions use (`value_in_use`).
import { Router, type Response } from 'express';
import {
  createFeature,
  deleteFeature,
  deletePrivilege,
  DuplicateFeatureError,
  getFeatureByCode,
  listFeatures,
  lockFeature,
  privilegeValuesOutside,
  updateFeature,
  type FeatureEdit,
  type FeatureRecord,
  type NewPrivilege,
  type PrivilegeValueType,
} from '../../db/repositories/features';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { addDetail, notFound, validationError } from '../errors';
import { paginationMeta, parseBody } from '../schemas/common';
import { FeatureCreateBody, FeatureListQuery, FeatureUpdateBody } from '../schemas/entitlements';
import { privilegeConfigError, serializeFeature } from '../services/entitlements';

type PrivilegeInput = NonNullable<ReturnType<typeof FeatureCreateBody.parse>['feature']['privileges']>[number];

function newPrivilege(p: PrivilegeInput, field: string, details: Record<string, string[]>): NewPrivilege {
  const valueType: PrivilegeValueType = p.value_type ?? 'string';
  const options = p.config?.select_options;
  const err = privilegeConfigError(valueType, options);
  if (err) addDetail(details, `${field}.config.select_options`, err);
  return { code: p.code, name: p.name ?? null, valueType, config: valueType === 'select' ? { select_options: [...new Set(options ?? [])] } : {} };
}

function duplicateCodes(privileges: PrivilegeInput[], details: Record<string, string[]>): void {
  const seen = new Set<string>();
  privileges.forEach((p, i) => {
    if (seen.has(p.code)) addDetail(details, `privileges[${i}].code`, 'value_already_exist');
    seen.add(p.code);
  });
}

export function featureRoutes(ctx: RouteContext): Router {
  const r = Router();

  const featureOf = async (res: Response, code: string): Promise<FeatureRecord> => {
    const f = await getFeatureByCode(ctx.db, orgId(res), code);
    if (!f) throw notFound('feature');
    return f;
  };

  r.post('/features', async (req, res) => {
    const input = parseBody(FeatureCreateBody, req.body).feature;
    const details: Record<string, string[]> = {};
    const privileges = (input.privileges ?? []).map((p, i) => newPrivilege(p, `privileges[${i}]`, details));
    duplicateCodes(input.privileges ?? [], details);
    if (Object.keys(details).length > 0) throw validationError(details);
    const feature = await ctx.db
      .transaction((trx) => createFeature(trx, orgId(res), { code: input.code, name: input.name ?? null, description: input.description ?? null, privileges }))
      .catch((err: unknown) => {
        throw err instanceof DuplicateFeatureError ? validationError({ code: ['value_already_exist'] }) : err;
      });
    res.json({ feature: serializeFeature(feature) });
  });

  r.get('/features', async (req, res) => {
    const q = parseBody(FeatureListQuery, req.query);
    const { features, totalCount } = await listFeatures(ctx.db, orgId(res), { page: q.page, perPage: q.per_page, ...(q.search_term ? { searchTerm: q.search_term } : {}) });
    res.json({ features: features.map(serializeFeature), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/features/:code', async (req, res) => {
    res.json({ feature: serializeFeature(await featureOf(res, req.params.code)) });
  });

  r.put('/features/:code', async (req, res) => {
    const input = parseBody(FeatureUpdateBody, req.body).feature;
    const organizationId = orgId(res);
    const updated = await ctx.db.transaction(async (trx) => {
      const feature = await lockFeature(trx, organizationId, req.params.code);
      if (!feature) throw notFound('feature');
      const details: Record<string, string[]> = {};
      duplicateCodes(input.privileges ?? [], details);
      const edit: FeatureEdit = { changed: [], added: [], ...(input.name !== undefined ? { name: input.name } : {}), ...(input.description !== undefined ? { description: input.description } : {}) };
      for (const [i, p] of (input.privileges ?? []).entries()) {
        const field = `privileges[${i}]`;
        const existing = feature.privileges.find((x) => x.code === p.code);
        if (!existing) {
          edit.added.push(newPrivilege(p, field, details));
          continue;
        }
        if (p.value_type !== undefined && p.value_type !== existing.valueType) addDetail(details, `${field}.value_type`, 'cannot_be_changed');
        const options = p.config?.select_options;
        let config: { select_options?: string[] } | undefined;
        if (options !== undefined || (p.config !== undefined && existing.valueType === 'select')) {
          const err = privilegeConfigError(existing.valueType, options);
          if (err) addDetail(details, `${field}.config.select_options`, err);
          else if (existing.valueType === 'select') {
            config = { select_options: [...new Set(options!)] };
            if ((await privilegeValuesOutside(trx, organizationId, existing.id, config.select_options!)).length > 0) addDetail(details, `${field}.config.select_options`, 'value_in_use');
          }
        }
        edit.changed.push({ id: existing.id, ...(p.name !== undefined ? { name: p.name } : {}), ...(config ? { config } : {}) });
      }
      if (Object.keys(details).length > 0) throw validationError(details);
      return updateFeature(trx, feature, edit);
    });
    res.json({ feature: serializeFeature(updated) });
  });

  r.delete('/features/:code', async (req, res) => {
    const organizationId = orgId(res);
    const deleted = await ctx.db.transaction(async (trx) => {
      const feature = await lockFeature(trx, organizationId, req.params.code);
      if (!feature) throw notFound('feature');
      await deleteFeature(trx, feature);
      return feature;
    });
    res.json({ feature: serializeFeature(deleted) });
  });

  r.delete('/features/:code/privileges/:privilege_code', async (req, res) => {
    const organizationId = orgId(res);
    const after = await ctx.db.transaction(async (trx) => {
      const feature = await lockFeature(trx, organizationId, req.params.code);
      if (!feature) throw notFound('feature');
      const privilege = feature.privileges.find((p) => p.code === req.params.privilege_code);
      if (!privilege) throw notFound('privilege');
      await deletePrivilege(trx, organizationId, privilege.id);
      return { ...feature, privileges: feature.privileges.filter((p) => p.id !== privilege.id) };
    });
    res.json({ feature: serializeFeature(after) });
  });

  return r;
}

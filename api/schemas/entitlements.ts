// Request bodies and queries of Lago 1.51's features and entitlements (FeatureCreateInput, FeatureUpdateInput,
// EntitlementUpdateInput, findAllFeatures' query). Whether a privilege value fits its privilege's type is checked
// against the stored privilege (api/services/entitlements.ts), not here.
import { z } from 'zod';
import { paginationQuery } from './common';

export const PRIVILEGE_VALUE_TYPES = ['integer', 'boolean', 'string', 'select'] as const;
/** Lago's limits: codes and names 255 characters, descriptions 600. */
const code = z.string().min(1).max(255);
const name = z.string().max(255).nullable().optional();

const PrivilegeInput = z.object({
  code,
  name,
  value_type: z.enum(PRIVILEGE_VALUE_TYPES).optional(),
  config: z.object({ select_options: z.array(z.string().min(1).max(255)).max(100).optional() }).optional(),
});

const featureFields = {
  name,
  description: z.string().max(600).nullable().optional(),
  privileges: z.array(PrivilegeInput).max(100).optional(),
};

export const FeatureCreateBody = z.object({ feature: z.object({ code, ...featureFields }) });
export const FeatureUpdateBody = z.object({ feature: z.object(featureFields) });

export const FeatureListQuery = paginationQuery.extend({ search_term: z.string().max(255).optional() });

/** `{entitlements: {feature_code: {privilege_code: value}}}`; a feature with `{}` is granted without privilege values. */
export const EntitlementUpdateBody = z.object({
  entitlements: z
    .record(code, z.record(code, z.union([z.number(), z.boolean(), z.string().max(1_000)])))
    .refine((e) => Object.keys(e).length <= 100, 'value_is_out_of_range'),
});
export type EntitlementInput = z.output<typeof EntitlementUpdateBody>['entitlements'];

// The OpenAPI part of the ops13f operations (issue 13): features, plan entitlements, subscription entitlements.
// Merged into api/schemas/openapi.ts method by method.
import { FeatureCreateBody, FeatureListQuery, FeatureUpdateBody, EntitlementUpdateBody } from './entitlements';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import { SubscriptionStatusQuery } from './subscription-charges';

const errors = errorAnswers(['400', '401', '404', '422'], '`feature_not_found`, `privilege_not_found`, `plan_not_found`, `subscription_not_found`, `entitlement_not_found`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });

function paths(): Record<string, Record<string, unknown>> {
  const feature = [pathParam('code')];
  const plan = [pathParam('code')];
  const planFeature = [...plan, pathParam('feature_code')];
  const status = queryParameters(SubscriptionStatusQuery);
  const sub = [pathParam('external_id'), ...status];
  const subFeature = [pathParam('external_id'), pathParam('feature_code'), ...status];
  return {
    '/features': {
      post: { summary: 'Create a feature and its privileges (value_type integer, boolean, string or select)', parameters: [], requestBody: jsonBody('FeatureCreateInput'), responses: ok('FeatureResponse') },
      get: { summary: "The organization's features, newest first (search_term: name, code or description)", parameters: queryParameters(FeatureListQuery), responses: ok('FeatureListResponse') },
    },
    '/features/{code}': {
      get: { summary: 'One feature', parameters: feature, responses: ok('FeatureResponse') },
      put: { summary: "Change a feature's name or description; add privileges, rename or re-option existing ones", parameters: feature, requestBody: jsonBody('FeatureUpdateInput'), responses: ok('FeatureResponse') },
      delete: { summary: 'Delete a feature: it leaves every plan and subscription (one transaction)', parameters: feature, responses: ok('FeatureResponse') },
    },
    '/features/{code}/privileges/{privilege_code}': {
      delete: { summary: 'Delete a privilege: its values leave every plan and subscription', parameters: [...feature, pathParam('privilege_code')], responses: ok('FeatureResponse') },
    },
    '/plans/{code}/entitlements': {
      post: { summary: "Replace ALL the plan's entitlements with these", parameters: plan, requestBody: jsonBody('EntitlementUpdateInput'), responses: ok('PlanEntitlementListResponse') },
      patch: { summary: 'Add features / set privilege values; the others are kept', parameters: plan, requestBody: jsonBody('EntitlementUpdateInput'), responses: ok('PlanEntitlementListResponse') },
      get: { summary: "The plan's entitlements", parameters: plan, responses: ok('PlanEntitlementListResponse') },
    },
    '/plans/{code}/entitlements/{feature_code}': {
      get: { summary: "The plan's entitlement to one feature", parameters: planFeature, responses: ok('PlanEntitlementResponse') },
      delete: { summary: 'Remove the feature from the plan (answers it as it was)', parameters: planFeature, responses: ok('PlanEntitlementResponse') },
    },
    '/plans/{code}/entitlements/{feature_code}/privileges/{privilege_code}': {
      delete: { summary: "Remove one privilege's value from the plan's entitlement (the feature's privilege stays)", parameters: [...planFeature, pathParam('privilege_code')], responses: ok('PlanEntitlementResponse') },
    },
    '/subscriptions/{external_id}/entitlements': {
      get: { summary: "The subscription's effective entitlements: its plan's with its overrides layered on", parameters: sub, responses: ok('SubscriptionEntitlementListResponse') },
      patch: { summary: 'Override privilege values / add features for this subscription only', parameters: sub, requestBody: jsonBody('EntitlementUpdateInput'), responses: ok('SubscriptionEntitlementListResponse') },
    },
    '/subscriptions/{external_id}/entitlements/{feature_code}': {
      delete: { summary: "Remove the subscription's override of a feature (the plan's entitlement stays)", parameters: subFeature, responses: ok('SubscriptionEntitlementResponse') },
    },
    '/subscriptions/{external_id}/entitlements/{feature_code}/privileges/{privilege_code}': {
      delete: { summary: "Remove one overridden value (the plan's value applies again)", parameters: [pathParam('external_id'), pathParam('feature_code'), pathParam('privilege_code'), ...status], responses: ok('SubscriptionEntitlementResponse') },
    },
  };
}

export function addEntitlementsOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(paths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.FeatureCreateInput = schemaOf(FeatureCreateBody);
  doc.components.schemas.FeatureUpdateInput = schemaOf(FeatureUpdateBody);
  doc.components.schemas.EntitlementUpdateInput = schemaOf(EntitlementUpdateBody);
}

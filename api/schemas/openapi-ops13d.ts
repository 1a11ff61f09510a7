// The OpenAPI part of the ops13d operations (issue 13): wallet metadata by customer and wallet code, wallet alerts,
// wallet transaction consumptions / fundings, payment methods, analytics/usage, evaluate_expression. Merged into
// api/schemas/openapi.ts method by method.
import { paginationQuery } from './common';
import { MetadataBody } from './object-metadata';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import { EvaluateExpressionBody, UsageAnalyticsQuery, WalletAlertCreateBody, WalletAlertUpdateBody } from './ops13d';

const errors = errorAnswers(['400', '401', '404', '422'], '`customer_not_found`, `wallet_not_found`, `alert_not_found`, `wallet_transaction_not_found`, `payment_method_not_found`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });

function paths(): Record<string, Record<string, unknown>> {
  const wallet = [pathParam('external_customer_id'), pathParam('wallet_code')];
  const alert = [...wallet, pathParam('code')];
  const pages = queryParameters(paginationQuery);
  const method = [pathParam('external_customer_id'), pathParam('lago_id')];
  return {
    '/customers/{external_customer_id}/wallets/{wallet_code}/metadata': {
      post: { summary: "Replace the wallet's metadata", parameters: wallet, requestBody: jsonBody('MetadataInput'), responses: ok('MetadataResponse') },
      patch: { summary: "Merge keys into the wallet's metadata", parameters: wallet, requestBody: jsonBody('MetadataInput'), responses: ok('MetadataResponse') },
      delete: { summary: "Delete all of the wallet's metadata (null again)", parameters: wallet, responses: ok('MetadataResponse') },
    },
    '/customers/{external_customer_id}/wallets/{wallet_code}/metadata/{key}': {
      delete: { summary: "Delete one key of the wallet's metadata (a missing key: unchanged)", parameters: [...wallet, pathParam('key')], responses: ok('MetadataResponse') },
    },
    '/customers/{external_customer_id}/wallets/{wallet_code}/alerts': {
      get: { summary: "The wallet's balance alerts", parameters: [...wallet, ...pages], responses: ok('WalletAlertListResponse') },
      post: {
        summary: 'Create one alert ({alert}, answers {alert}) or several at once ({alerts}, answers {alerts}); thresholds decreasing',
        parameters: wallet,
        requestBody: jsonBody('WalletAlertCreateInput'),
        responses: ok('WalletAlertCreateResponse'),
      },
      delete: { summary: "Delete every alert of the wallet (answers the deleted alerts)", parameters: wallet, responses: ok('WalletAlertsResponse') },
    },
    '/customers/{external_customer_id}/wallets/{wallet_code}/alerts/{code}': {
      get: { summary: 'One wallet alert', parameters: alert, responses: ok('WalletAlertResponse') },
      put: { summary: "Change a wallet alert's code, name or thresholds", parameters: alert, requestBody: jsonBody('WalletAlertUpdateInput'), responses: ok('WalletAlertResponse') },
      delete: { summary: 'Delete a wallet alert', parameters: alert, responses: ok('WalletAlertResponse') },
    },
    '/wallet_transactions/{lago_id}/consumptions': {
      get: { summary: 'The outbound transactions that spent this inbound one (FIFO pairing)', parameters: [pathParam('lago_id'), ...pages], responses: ok('WalletTransactionConsumptionListResponse') },
    },
    '/wallet_transactions/{lago_id}/fundings': {
      get: { summary: 'The inbound transactions this outbound one spent (FIFO pairing)', parameters: [pathParam('lago_id'), ...pages], responses: ok('WalletTransactionFundingListResponse') },
    },
    '/customers/{external_customer_id}/payment_methods': {
      get: { summary: "The customer's payment methods (synced from the payment provider first)", parameters: [pathParam('external_customer_id'), ...pages], responses: ok('PaymentMethodListResponse') },
    },
    '/customers/{external_customer_id}/payment_methods/{lago_id}/set_as_default': {
      put: { summary: 'Make this method the default (written through to the provider)', parameters: method, responses: ok('PaymentMethodResponse') },
    },
    '/customers/{external_customer_id}/payment_methods/{lago_id}': {
      delete: { summary: 'Detach and delete a payment method (the default only when it is the last one)', parameters: method, responses: ok('PaymentMethodResponse') },
    },
    '/analytics/usage': {
      get: { summary: 'Invoiced usage per period, currency and billable metric', parameters: queryParameters(UsageAnalyticsQuery), responses: ok('UsageAnalyticsResponse') },
    },
    '/billable_metrics/evaluate_expression': {
      post: { summary: 'Evaluate a custom expression against one sample event (nothing stored)', parameters: [], requestBody: jsonBody('EvaluateExpressionInput'), responses: ok('EvaluateExpressionResponse') },
    },
  };
}

export function addOps13dOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(paths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.MetadataInput ??= schemaOf(MetadataBody);
  doc.components.schemas.WalletAlertCreateInput = schemaOf(WalletAlertCreateBody);
  doc.components.schemas.WalletAlertUpdateInput = schemaOf(WalletAlertUpdateBody);
  doc.components.schemas.EvaluateExpressionInput = schemaOf(EvaluateExpressionBody);
}

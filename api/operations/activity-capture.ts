// Which successful API writes are activities (ops13g, issue 13), read from the route and the answer: the resource's
// final state is the answer's object (Lago's activity_object). Recorded after the answer, in the API log writer's
// batches (api/operations/api-log.ts): the resources Meterline announces through the webhook outbox (invoices,
// subscriptions started / terminated, credit notes) are recorded there instead, in the change's transaction.
export interface CapturedActivity {
  activityType: string;
  resourceType: string;
  object: Record<string, unknown>;
}

interface Rule {
  path: RegExp;
  methods: Record<string, string>;
  key: string;
  objectName: string;
  resourceType: string;
}

const rule = (path: RegExp, key: string, resourceType: string, methods: Record<string, string>, objectName = key): Rule => ({ path, methods, key, objectName, resourceType });

const RULES: Rule[] = [
  rule(/^\/billable_metrics$/, 'billable_metric', 'BillableMetric', { POST: 'created' }),
  rule(/^\/billable_metrics\/[^/]+$/, 'billable_metric', 'BillableMetric', { PUT: 'updated', DELETE: 'deleted' }),
  rule(/^\/plans$/, 'plan', 'Plan', { POST: 'created' }),
  rule(/^\/plans\/[^/]+$/, 'plan', 'Plan', { PUT: 'updated', DELETE: 'deleted' }),
  // POST /customers creates or updates by external_id: created when the customer was never logged before.
  rule(/^\/customers$/, 'customer', 'Customer', { POST: 'upserted' }),
  rule(/^\/customers\/[^/]+$/, 'customer', 'Customer', { DELETE: 'deleted' }),
  rule(/^\/subscriptions\/[^/]+$/, 'subscription', 'Subscription', { PUT: 'updated' }),
  rule(/^\/coupons$/, 'coupon', 'Coupon', { POST: 'created' }),
  rule(/^\/coupons\/[^/]+$/, 'coupon', 'Coupon', { PUT: 'updated', DELETE: 'deleted' }),
  rule(/^\/applied_coupons$/, 'applied_coupon', 'AppliedCoupon', { POST: 'created' }),
  rule(/^\/add_ons$/, 'add_on', 'AddOn', { POST: 'created' }),
  rule(/^\/add_ons\/[^/]+$/, 'add_on', 'AddOn', { PUT: 'updated', DELETE: 'deleted' }),
  rule(/^\/taxes$/, 'tax', 'Tax', { POST: 'created' }),
  rule(/^\/taxes\/[^/]+$/, 'tax', 'Tax', { PUT: 'updated', DELETE: 'deleted' }),
  rule(/^\/wallets$/, 'wallet', 'Wallet', { POST: 'created' }),
  rule(/^\/wallets\/[^/]+$/, 'wallet', 'Wallet', { PUT: 'updated', DELETE: 'terminated' }),
  rule(/^\/billing_entities$/, 'billing_entity', 'BillingEntity', { POST: 'created' }),
  rule(/^\/billing_entities\/[^/]+$/, 'billing_entity', 'BillingEntity', { PUT: 'updated' }),
  rule(/^\/webhook_endpoints$/, 'webhook_endpoint', 'WebhookEndpoint', { POST: 'created' }),
  rule(/^\/webhook_endpoints\/[^/]+$/, 'webhook_endpoint', 'WebhookEndpoint', { PUT: 'updated', DELETE: 'deleted' }),
];

/** The activity of a successful write (status 2xx, JSON answer), or null when the route records none. */
export function activityOf(method: string, path: string, status: number, answer: unknown): CapturedActivity | null {
  if (status < 200 || status > 299 || answer === null || typeof answer !== 'object') return null;
  const r = RULES.find((x) => x.methods[method] !== undefined && x.path.test(path));
  if (!r) return null;
  const object = (answer as Record<string, unknown>)[r.key];
  if (object === null || typeof object !== 'object' || typeof (object as { lago_id?: unknown }).lago_id !== 'string') return null;
  return { activityType: `${r.objectName}.${r.methods[method]!}`, resourceType: r.resourceType, object: object as Record<string, unknown> };
}

// A stateful, in-process fake of the parts of Stripe's HTTP API Meterline uses, plugged into the REAL `stripe`
// SDK through its own HTTP hook (`Stripe.createFetchHttpClient(fake.fetch)`), so the adapter code under test
// is exactly the production code down to the form encoding and headers.
//
// Why not stripe-mock or localstripe: stripe-mock (Go) is stateless by design — it answers from fixtures and
// echoes parameters, so a PaymentIntent created by attempt 1 is not there for the metadata lookup of attempt
// 2, declines and 3-D Secure cannot be scripted and idempotency keys are not replayed. localstripe (PyPI) is
// stateful but unmaintained for current API versions (no off-session PaymentIntents with payment_method,
// no cached-error idempotency replay) and would add a Python server process per test. This fake is small and
// behaves like Stripe where it matters to us (documented Stripe behaviour):
// - customers, payment methods (cards with scripted behaviour, like Stripe's test cards), PaymentIntents
//   (confirm + off_session: succeeded; declines → 402 card_error with decline_code and the PaymentIntent in
//   requires_payment_method; 3-D Secure → 402 authentication_required), refunds (create on a PaymentIntent's
//   charge, list by payment_intent/charge; more than the unrefunded amount → 400 amount_too_large, a fully
//   refunded charge → 400 charge_already_refunded), checkout sessions;
// - idempotency: the first response for a key (success OR error, 500s included) is saved and replayed with
//   `Idempotent-Replayed: true`; the same key with other parameters → 400 idempotency_error; 429s are not
//   saved (the request did not execute); `forgetIdempotencyKeys()` = 24 h later;
// - faults: 429 rate limit, 500 before executing, 500 AFTER the charge executed (the charge exists, the client
//   sees a 500, and Stripe replays that 500 for the same key);
// - list PaymentIntents by customer (strongly consistent), search by metadata (`metadata['k']:'v' AND ...`).
import Stripe from 'stripe';

export type CardBehaviour = 'succeeds' | { decline: string } | 'requires_authentication';

export type Fault = 'rate_limit' | 'server_error' | 'server_error_after_execution';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, unknown>;
  headers: Record<string, string>;
}

type Obj = Record<string, unknown> & { id: string };

interface SavedResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

function nestedSet(target: Record<string, unknown>, key: string, value: string): void {
  const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
  let cur: Record<string, unknown> = target;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) cur[part] = value;
    else {
      cur[part] = (cur[part] as Record<string, unknown> | undefined) ?? {};
      cur = cur[part] as Record<string, unknown>;
    }
  });
}

export function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) nestedSet(out, k, v);
  return out;
}

let instances = 0;

export class FakeStripe {
  /** Ids are unique across fakes of one test process, as Stripe's are globally. */
  private readonly instance = ++instances;
  readonly customers = new Map<string, Obj>();
  readonly paymentMethods = new Map<string, Obj & { behaviour: CardBehaviour }>();
  readonly paymentIntents = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  readonly checkoutSessions = new Map<string, Obj>();
  readonly requests: RecordedRequest[] = [];
  private readonly saved = new Map<string, SavedResponse>();
  private readonly faults: { fault: Fault; match: (r: RecordedRequest) => boolean }[] = [];
  private seq = 0;
  private clock = 1_800_000_000;

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_fake${this.instance}x${String(this.seq).padStart(6, '0')}`;
  }

  httpClient(): Stripe.HttpClient {
    return Stripe.createFetchHttpClient(this.fetch as unknown as typeof fetch);
  }

  /** A Stripe SDK client talking to this fake. */
  client(secretKey = 'sk_test_fake'): Stripe {
    return new Stripe(secretKey, { httpClient: this.httpClient(), maxNetworkRetries: 0, telemetry: false });
  }

  // ---- test controls ------------------------------------------------------------------------------------

  /** Creates a card payment method attached to the customer and makes it the default. */
  addCard(customerId: string, behaviour: CardBehaviour = 'succeeds'): string {
    const id = this.attachCard(customerId, behaviour);
    this.customers.get(customerId)!.invoice_settings = { default_payment_method: id };
    return id;
  }

  /** Creates a card payment method attached to the customer, leaving its default as it is. */
  attachCard(customerId: string, behaviour: CardBehaviour = 'succeeds'): string {
    if (!this.customers.get(customerId)) throw new Error(`no customer ${customerId}`);
    const id = this.nextId('pm');
    this.paymentMethods.set(id, { id, object: 'payment_method', type: 'card', customer: customerId, behaviour, card: { brand: 'visa', last4: '4242' }, created: this.clock });
    return id;
  }

  setCardBehaviour(paymentMethodId: string, behaviour: CardBehaviour): void {
    const pm = this.paymentMethods.get(paymentMethodId);
    if (!pm) throw new Error(`no payment method ${paymentMethodId}`);
    pm.behaviour = behaviour;
  }

  /** The next request matching `match` (default: any POST /v1/payment_intents) fails with `fault`. */
  failNext(fault: Fault, match: (r: RecordedRequest) => boolean = (r) => r.method === 'POST' && r.path === '/v1/payment_intents'): void {
    this.faults.push({ fault, match });
  }

  /** 24 hours pass: Stripe forgets idempotency keys. */
  forgetIdempotencyKeys(): void {
    this.saved.clear();
  }

  /** Charges that actually moved money (succeeded PaymentIntents). */
  succeededCharges(): Obj[] {
    return [...this.paymentIntents.values()].filter((pi) => pi.status === 'succeeded');
  }

  /** A webhook event object as Stripe sends it. */
  event(type: string, object: Obj, id = this.nextId('evt')): Stripe.Event {
    this.clock += 1;
    return { id, object: 'event', api_version: '2026-10-28.endive', created: this.clock, type, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, data: { object } } as unknown as Stripe.Event;
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------

  readonly fetch = async (input: string | URL, init: { method?: string; headers?: unknown; body?: unknown } = {}): Promise<Response> => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    const rawHeaders = init.headers as [string, string][] | Record<string, string> | undefined;
    for (const [k, v] of Array.isArray(rawHeaders) ? rawHeaders : Object.entries(rawHeaders ?? {})) headers[k.toLowerCase()] = String(v);
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? init.body : '';
    const req: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form: method === 'GET' ? parseForm(url.search.slice(1)) : parseForm(body),
      headers,
    };
    this.requests.push(req);
    if (!headers.authorization?.startsWith('Bearer sk_')) {
      return this.respond(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }

    const faultIndex = this.faults.findIndex((f) => f.match(req));
    const fault = faultIndex >= 0 ? this.faults.splice(faultIndex, 1)[0]!.fault : null;
    if (fault === 'rate_limit') {
      return this.respond(429, { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } });
    }
    if (fault === 'server_error') return this.respond(500, { error: { type: 'api_error', message: 'An unknown error occurred' } });

    const key = method === 'POST' ? headers['idempotency-key'] : undefined;
    const fingerprint = `${method} ${url.pathname} ${body}`;
    if (key !== undefined) {
      const prior = this.saved.get(key);
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          return this.respond(400, {
            error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` },
          });
        }
        return this.respond(prior.status, prior.body, { 'Idempotent-Replayed': 'true' });
      }
    }
    let [status, payload] = this.route(req);
    if (fault === 'server_error_after_execution') {
      status = 500;
      payload = { error: { type: 'api_error', message: 'An unknown error occurred' } };
    }
    if (key !== undefined) this.saved.set(key, { fingerprint, status, body: payload });
    return this.respond(status, payload);
  };

  private respond(status: number, body: unknown, extra: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'request-id': `req_fake${this.requests.length}`, ...extra },
    });
  }

  private notFound(kind: string, id: string): [number, unknown] {
    return [404, { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${kind}: '${id}'` } }];
  }

  private route(req: RecordedRequest): [number, unknown] {
    const { method, path } = req;
    const f = req.form as Record<string, unknown>;
    let m: RegExpMatchArray | null;
    if (method === 'POST' && path === '/v1/customers') {
      const id = this.nextId('cus');
      const c: Obj = { id, object: 'customer', name: f.name ?? null, email: f.email ?? null, metadata: f.metadata ?? {}, invoice_settings: { default_payment_method: null } };
      this.customers.set(id, c);
      return [200, c];
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) {
      const c = this.customers.get(m[1]!);
      return c ? [200, c] : this.notFound('customer', m[1]!);
    }
    // Customer update (invoice_settings.default_payment_method: must be a payment method attached to the customer,
    // as Stripe checks), payment method retrieve and detach (a detached method keeps existing, customer null).
    if (method === 'POST' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) {
      const c = this.customers.get(m[1]!);
      if (!c) return this.notFound('customer', m[1]!);
      const settings = f.invoice_settings as Record<string, unknown> | undefined;
      if (settings && settings.default_payment_method !== undefined) {
        const pmId = String(settings.default_payment_method);
        const pm = this.paymentMethods.get(pmId);
        if (!pm || pm.customer !== c.id) {
          return [400, { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'invoice_settings[default_payment_method]', message: `No such PaymentMethod: '${pmId}'` } }];
        }
        c.invoice_settings = { default_payment_method: pmId };
      }
      return [200, c];
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/payment_methods\/([^/]+)$/))) {
      const pm = this.paymentMethods.get(m[1]!);
      if (!pm) return this.notFound('payment_method', m[1]!);
      const { behaviour: _b, ...rest } = pm;
      return [200, rest];
    }
    if (method === 'POST' && (m = path.match(/^\/v1\/payment_methods\/([^/]+)\/detach$/))) {
      const pm = this.paymentMethods.get(m[1]!);
      if (!pm) return this.notFound('payment_method', m[1]!);
      if (pm.customer === null) {
        return [400, { error: { type: 'invalid_request_error', message: 'The payment method you provided is not attached to a customer so detachment is impossible.' } }];
      }
      const owner = this.customers.get(String(pm.customer));
      if (owner && (owner.invoice_settings as Record<string, unknown> | undefined)?.default_payment_method === pm.id) owner.invoice_settings = { default_payment_method: null };
      pm.customer = null;
      const { behaviour: _b, ...rest } = pm;
      return [200, rest];
    }
    if (method === 'GET' && path === '/v1/payment_methods') {
      const data = [...this.paymentMethods.values()].filter((pm) => pm.customer === f.customer).map(({ behaviour: _b, ...pm }) => pm);
      return [200, { object: 'list', data: data.slice(0, Number(f.limit ?? 10)), has_more: false, url: '/v1/payment_methods' }];
    }
    if (method === 'POST' && path === '/v1/payment_intents') return this.createPaymentIntent(f);
    if (method === 'GET' && path === '/v1/payment_intents') {
      const data = [...this.paymentIntents.values()].filter((pi) => f.customer === undefined || pi.customer === f.customer).reverse();
      return [200, { object: 'list', data: data.slice(0, Number(f.limit ?? 10)), has_more: false, url: '/v1/payment_intents' }];
    }
    if (method === 'GET' && path === '/v1/payment_intents/search') {
      const clauses = [...String(f.query ?? '').matchAll(/metadata\['([^']+)'\]:'([^']*)'/g)];
      const data = [...this.paymentIntents.values()].filter((pi) => clauses.every(([, k, v]) => (pi.metadata as Record<string, string>)[k!] === v));
      return [200, { object: 'search_result', data, has_more: false, next_page: null, url: '/v1/payment_intents/search' }];
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/payment_intents\/([^/]+)$/))) {
      const pi = this.paymentIntents.get(m[1]!);
      return pi ? [200, pi] : this.notFound('payment_intent', m[1]!);
    }
    if (method === 'POST' && path === '/v1/refunds') return this.createRefund(f);
    if (method === 'GET' && path === '/v1/refunds') {
      // Stripe's list: newest first, filtered by payment_intent or charge, `limit` (default 10).
      const data = [...this.refunds.values()]
        .filter((r) => (f.payment_intent === undefined || r.payment_intent === f.payment_intent) && (f.charge === undefined || r.charge === f.charge))
        .reverse();
      return [200, { object: 'list', data: data.slice(0, Number(f.limit ?? 10)), has_more: data.length > Number(f.limit ?? 10), url: '/v1/refunds' }];
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = this.nextId('cs');
      if (f.mode !== 'setup' && f.mode !== 'payment') {
        return [400, { error: { type: 'invalid_request_error', param: 'mode', message: 'Invalid mode' } }];
      }
      if (!this.customers.has(String(f.customer))) return this.notFound('customer', String(f.customer));
      const s: Obj = { id, object: 'checkout.session', mode: f.mode, customer: f.customer, url: `https://checkout.stripe.com/c/pay/${id}`, metadata: f.metadata ?? {} };
      this.checkoutSessions.set(id, s);
      return [200, s];
    }
    return [404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` } }];
  }

  private createPaymentIntent(f: Record<string, unknown>): [number, unknown] {
    const amount = Number(f.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) {
      return [400, { error: { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' } }];
    }
    const customerId = String(f.customer ?? '');
    if (!this.customers.has(customerId)) return this.notFound('customer', customerId);
    const pm = this.paymentMethods.get(String(f.payment_method ?? ''));
    if (f.confirm === 'true' && (!pm || pm.customer !== customerId)) {
      return [400, { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${String(f.payment_method)}'` } }];
    }
    const id = this.nextId('pi');
    const pi: Obj = {
      id,
      object: 'payment_intent',
      amount,
      currency: String(f.currency),
      customer: customerId,
      payment_method: pm?.id ?? null,
      metadata: f.metadata ?? {},
      status: 'requires_confirmation',
      last_payment_error: null,
      latest_charge: null,
      created: (this.clock += 1),
    };
    this.paymentIntents.set(id, pi);
    if (f.confirm !== 'true' || !pm) return [200, pi];
    const behaviour = pm.behaviour;
    if (behaviour === 'succeeds') {
      pi.status = 'succeeded';
      pi.latest_charge = this.nextId('ch');
      return [200, pi];
    }
    if (behaviour === 'requires_authentication') {
      if (f.off_session === 'true') {
        const error = { type: 'card_error', code: 'authentication_required', decline_code: 'authentication_required', message: 'Your card was declined. This transaction requires authentication.' };
        pi.status = 'requires_payment_method';
        pi.last_payment_error = error;
        return [402, { error: { ...error, payment_intent: pi } }];
      }
      pi.status = 'requires_action';
      pi.next_action = { type: 'use_stripe_sdk' };
      return [200, pi];
    }
    const error = { type: 'card_error', code: 'card_declined', decline_code: behaviour.decline, message: 'Your card was declined.', charge: this.nextId('ch') };
    pi.status = 'requires_payment_method';
    pi.last_payment_error = error;
    return [402, { error: { ...error, payment_intent: pi } }];
  }

  private createRefund(f: Record<string, unknown>): [number, unknown] {
    const pi = this.paymentIntents.get(String(f.payment_intent ?? ''));
    if (!pi) return this.notFound('payment_intent', String(f.payment_intent));
    if (pi.status !== 'succeeded') {
      return [400, { error: { type: 'invalid_request_error', code: 'charge_not_refundable', message: 'This PaymentIntent has no successful charge to refund.' } }];
    }
    if (f.amount !== undefined && (!/^[0-9]+$/.test(String(f.amount)) || Number(f.amount) < 1)) {
      return [400, { error: { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid positive integer' } }];
    }
    const already = [...this.refunds.values()].filter((r) => r.payment_intent === pi.id).reduce((s, r) => s + Number(r.amount), 0);
    if (already >= Number(pi.amount)) {
      return [400, { error: { type: 'invalid_request_error', code: 'charge_already_refunded', message: `Charge ${String(pi.latest_charge)} has already been refunded.` } }];
    }
    const amount = f.amount === undefined ? Number(pi.amount) - already : Number(f.amount);
    if (amount + already > Number(pi.amount)) {
      // Stripe: an InvalidRequestError (400) naming both amounts.
      return [400, { error: { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount', message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${Number(pi.amount) - already})` } }];
    }
    const id = this.nextId('re');
    const r: Obj = { id, object: 'refund', amount, currency: pi.currency, charge: pi.latest_charge, payment_intent: pi.id, status: 'succeeded', reason: f.reason ?? null, metadata: f.metadata ?? {}, created: (this.clock += 1) };
    this.refunds.set(id, r);
    return [200, r];
  }
}

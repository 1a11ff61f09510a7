// What cannot be billed without FX is refused at the door, with Lago's code.
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let usd: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_currency' });
  usd = await seedSubscription(h, { suffix: 'usd' }); // USD plan, USD customer, live subscription
});
afterAll(async () => {
  await h?.stop();
});

const currencyRefusal = { status: 422, code: 'validation_errors', error_details: { currency: ['currencies_does_not_match'] } };

describe('subscription creation', () => {
  test('a EUR customer on a USD plan is a 422 currencies_does_not_match and nothing is written', async () => {
    expect((await h.request('POST', '/customers', { customer: { external_id: 'eur-cust', currency: 'EUR' } })).status).toBe(200);
    const res = await h.request('POST', '/subscriptions', {
      subscription: { external_customer_id: 'eur-cust', plan_code: usd.planCode, external_id: 'eur-on-usd' },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject(currencyRefusal);
    expect(await h.database.db('subscriptions').where({ external_id: 'eur-on-usd' })).toHaveLength(0);
  });

  test('a customer without a currency takes the plan currency (as Lago does)', async () => {
    expect((await h.request('POST', '/customers', { customer: { external_id: 'no-cur' } })).status).toBe(200);
    const res = await h.request('POST', '/subscriptions', {
      subscription: { external_customer_id: 'no-cur', plan_code: usd.planCode, external_id: 'no-cur-sub' },
    });
    expect(res.status).toBe(200);
    expect((await h.request('GET', '/customers/no-cur')).body.customer.currency).toBe('USD');
  });
});

describe('customer currency under a live subscription', () => {
  test('changing it is a 422 currencies_does_not_match; the stored currency is unchanged', async () => {
    const res = await h.request('POST', '/customers', { customer: { external_id: usd.customerId, currency: 'EUR' } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject(currencyRefusal);
    expect((await h.request('GET', `/customers/${usd.customerId}`)).body.customer.currency).toBe('USD');
  });

  test('re-sending the same currency, or updating other fields, is fine', async () => {
    expect((await h.request('POST', '/customers', { customer: { external_id: usd.customerId, currency: 'USD', name: 'Ada L.' } })).status).toBe(200);
    expect((await h.request('POST', '/customers', { customer: { external_id: usd.customerId, name: 'Ada' } })).status).toBe(200);
  });

  test('a customer without live subscriptions may change currency', async () => {
    expect((await h.request('POST', '/customers', { customer: { external_id: 'free-cust', currency: 'USD' } })).status).toBe(200);
    const res = await h.request('POST', '/customers', { customer: { external_id: 'free-cust', currency: 'EUR' } });
    expect(res.status).toBe(200);
    expect(res.body.customer.currency).toBe('EUR');
  });
});

// A customer's VAT number is checked against (a fake) VIES when the API writes the customer, and the answer is
// recorded as evidence; "member state unavailable" is recorded as unknown, never invalid.
import { VatNumberChecker } from '../../adapters/vies/checker';
import { ViesHttpClient } from '../../adapters/vies/http';
import { startFakeVies, type FakeVies } from '../support/fake-vies';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let vies: FakeVies;
beforeAll(async () => {
  vies = await startFakeVies();
  vies.registered.add('DE136695976');
  h = await startApiHarness({ prefix: 'api_vat', vatNumbers: new VatNumberChecker(new ViesHttpClient({ baseUrl: vies.url, timeoutMs: 2000 })) });
});
afterAll(async () => {
  await h?.stop();
  await vies?.close();
});

async function stored(externalId: string) {
  return h.database.db('customers').where({ organization_id: h.org.id, external_id: externalId }).first('vat_number_status', 'vat_number_check');
}

test('a registered number is recorded valid with the VIES consultation number', async () => {
  const res = await h.request('POST', '/customers', { customer: { external_id: 'de-co', country: 'DE', customer_type: 'company', tax_identification_number: 'DE136695976' } });
  expect(res.status).toBe(200);
  const row = await stored('de-co');
  expect(row.vat_number_status).toBe('valid');
  expect(row.vat_number_check).toMatchObject({ reason: 'VIES VALID', vies: { requestIdentifier: 'WAPIAAAA136695976' } });
});

test('a confirmed number is not asked again on the next update; a changed number is', async () => {
  vies.requests.length = 0;
  await h.request('POST', '/customers', { customer: { external_id: 'de-co', name: 'Renamed', tax_identification_number: 'DE136695976' } });
  expect(vies.requests).toEqual([]);
  await h.request('POST', '/customers', { customer: { external_id: 'de-co', tax_identification_number: 'FR83404833048' } });
  expect(vies.requests).toEqual(['FR83404833048']);
  expect((await stored('de-co')).vat_number_status).toBe('invalid');
});

test('member state unavailable: the customer is written, its number recorded unknown (not invalid)', async () => {
  vies.unavailableStates.add('FR');
  const res = await h.request('POST', '/customers', { customer: { external_id: 'fr-co', country: 'FR', customer_type: 'company', tax_identification_number: 'FR40303265045' } });
  expect(res.status).toBe(200);
  expect((await stored('fr-co')).vat_number_status).toBe('unknown');
  vies.unavailableStates.clear();
  vies.registered.add('FR40303265045');
  // an unknown number is asked again on the next write
  await h.request('POST', '/customers', { customer: { external_id: 'fr-co', name: 'again' } });
  expect((await stored('fr-co')).vat_number_status).toBe('valid');
});

test('a number failing its checksum is recorded invalid without asking VIES', async () => {
  vies.requests.length = 0;
  await h.request('POST', '/customers', { customer: { external_id: 'bad', tax_identification_number: 'DE136695977' } });
  expect(vies.requests).toEqual([]);
  expect((await stored('bad')).vat_number_status).toBe('invalid');
});

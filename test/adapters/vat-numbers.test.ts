import { checkVatNumberFormat } from '../../billing/tax';
import { VatNumberChecker } from '../../adapters/vies/checker';
import { ViesHttpClient } from '../../adapters/vies/http';
import { startFakeVies, type FakeVies } from '../support/fake-vies';

describe('VAT number format and checksum (jsvat-next)', () => {
  it.each([
    ['FR 40 303 265 045', true, 'FR', 'FR', '40303265045'],
    ['EL094259216', true, 'GR', 'EL', '094259216'],
    ['DE136695976', true, 'DE', 'DE', '136695976'],
    ['DE136695977', false, 'DE', 'DE', '136695977'], // checksum digit off by one
    ['ATU13585627', true, 'AT', 'AT', 'U13585627'],
  ])('%s → valid format %s', (raw, ok, country, vies, local) => {
    expect(checkVatNumberFormat(raw)).toMatchObject({ formatValid: ok, country, viesCountryCode: vies, localNumber: local });
  });
});

describe('VIES check behind a port, with a cache', () => {
  let vies: FakeVies;
  beforeAll(async () => {
    vies = await startFakeVies({ slowMs: 1500 });
    vies.registered.add('DE136695976');
    vies.registered.add('FR40303265045');
  });
  afterAll(async () => vies.close());
  beforeEach(() => {
    vies.requests.length = 0;
    vies.unavailableStates.clear();
    vies.slowNumbers.clear();
    vies.setServiceDown(false);
  });
  const client = () => new ViesHttpClient({ baseUrl: vies.url, timeoutMs: 300 });

  it('a registered number is valid, with the consultation number as evidence', async () => {
    const r = await new VatNumberChecker(client()).verify('DE136695976');
    expect(r.status).toBe('valid');
    expect(r.vies).toMatchObject({ reason: 'VALID', requestIdentifier: 'WAPIAAAA136695976' });
  });

  it('a well-formed but unregistered number is invalid', async () => {
    vies.registered.delete('FR83404833048');
    const r = await new VatNumberChecker(client()).verify('FR83404833048');
    expect(checkVatNumberFormat('FR83404833048').formatValid).toBe(true);
    expect(r).toMatchObject({ status: 'invalid', reason: 'VIES INVALID' });
  });

  it('a number failing the checksum is invalid without asking VIES', async () => {
    const r = await new VatNumberChecker(client()).verify('DE136695977');
    expect(r.status).toBe('invalid');
    expect(vies.requests).toEqual([]);
  });

  it('member state unavailable means unknown, not invalid, and is not cached', async () => {
    vies.unavailableStates.add('DE');
    const checker = new VatNumberChecker(client());
    expect(await checker.verify('DE136695976')).toMatchObject({ status: 'unknown', reason: 'VIES MS_UNAVAILABLE' });
    vies.unavailableStates.clear();
    expect(await checker.verify('DE136695976')).toMatchObject({ status: 'valid', fromCache: false });
    expect(vies.requests).toEqual(['DE136695976', 'DE136695976']);
  });

  it('a VIES that does not answer in time is unknown (TIMEOUT)', async () => {
    vies.slowNumbers.add('FR40303265045');
    expect(await new VatNumberChecker(client()).verify('FR40303265045')).toMatchObject({ status: 'unknown', reason: 'VIES TIMEOUT' });
  });

  it('a VIES 503 is unknown', async () => {
    vies.setServiceDown(true);
    expect(await new VatNumberChecker(client()).verify('FR40303265045')).toMatchObject({ status: 'unknown', reason: 'VIES SERVICE_UNAVAILABLE' });
  });

  it('definite answers are cached: the second check does not reach VIES', async () => {
    const checker = new VatNumberChecker(client());
    await checker.verify('DE136695976');
    const second = await checker.verify('DE 136 695 976');
    expect(second).toMatchObject({ status: 'valid', fromCache: true });
    expect(vies.requests).toEqual(['DE136695976']);
  });

  it('no number → absent; a non-EU number with a valid format → unknown (no registry check)', async () => {
    const checker = new VatNumberChecker(client());
    expect((await checker.verify(null)).status).toBe('absent');
    expect((await checker.verify('GB980780684')).status).toBe('unknown');
  });
});

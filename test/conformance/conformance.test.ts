import { loadFixtures, runErrorFixture, runFixture } from './runner';
import { isTaxFixture, runTaxFixture } from './tax-runner';
import { isWalletFixture, runWalletFixture } from './wallet-runner';
import { isCouponFixture, isCreditNoteFixture, runCouponFixture, runCreditNoteFixture } from './credits-runner';

const fixtures = loadFixtures();

describe('conformance fixtures', () => {
  it('has at least 80 fixtures, each citing its source', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(80);
    for (const f of fixtures) expect(typeof f.source === 'string' && f.source.length > 5).toBe(true);
  });

  it.each(fixtures.map((f) => [`${f.file}: ${f.name}`, f] as const))('%s', (_label, f) => {
    if (isTaxFixture(f)) {
      expect(runTaxFixture(f)).toEqual(f.expected);
    } else if (isWalletFixture(f)) {
      expect(runWalletFixture(f)).toEqual(f.expected);
    } else if (isCouponFixture(f)) {
      expect(runCouponFixture(f)).toEqual(f.expected);
    } else if (isCreditNoteFixture(f)) {
      expect(runCreditNoteFixture(f)).toEqual(f.expected);
    } else if (f.expected_error) {
      expect(runErrorFixture(f)).toEqual(f.expected_error);
    } else {
      expect(runFixture(f)).toEqual(f.expected);
    }
  });
});

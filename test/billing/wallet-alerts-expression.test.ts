// billing/wallet-alerts.ts (which decreasing levels a balance drop crosses) and billing/expression.ts (Lago's custom
// expressions), pure.
import { evaluateExpression } from '../../billing/expression';
import { crossedWalletLevels, walletThresholdsError } from '../../billing/wallet-alerts';

const TH = [
  { code: 'soft', value: '1000', recurring: false },
  { code: 'hard', value: '500', recurring: false },
  { code: 'every100', value: '100', recurring: true },
];

describe('wallet alert levels', () => {
  test('a drop from above a level to at or below it crosses it; a rise or a move above every level crosses none', () => {
    expect(crossedWalletLevels(TH, '1500', '1000')).toEqual([{ code: 'soft', value: '1000', recurring: false }]);
    expect(crossedWalletLevels(TH, '1000', '990')).toEqual([]);
    expect(crossedWalletLevels(TH, '300', '1500')).toEqual([]);
    expect(crossedWalletLevels(TH, '2000', '1500')).toEqual([]);
  });
  test('one drop through two fixed levels records both, highest first', () => {
    expect(crossedWalletLevels(TH, '1200', '450').map((l) => l.value)).toEqual(['1000', '500']);
  });
  test('the recurring threshold records only the lowest level crossed below the lowest fixed one', () => {
    expect(crossedWalletLevels(TH, '450', '130')).toEqual([{ code: 'every100', value: '200', recurring: true }]);
    expect(crossedWalletLevels(TH, '450', '410')).toEqual([]);
    expect(crossedWalletLevels([{ code: null, value: '300', recurring: true }], '1000', '250')).toEqual([{ code: null, value: '300', recurring: true }]);
  });
  test('thresholds must decrease, at most one recurring, at most 20 fixed', () => {
    expect(walletThresholdsError(TH)).toBeNull();
    expect(walletThresholdsError([{ code: null, value: '5', recurring: false }, { code: null, value: '10', recurring: false }])).toBe('thresholds_must_be_decreasing');
    expect(walletThresholdsError([{ code: null, value: '5', recurring: true }, { code: null, value: '1', recurring: true }])).toBe('only_one_recurring_threshold');
    expect(walletThresholdsError(Array.from({ length: 21 }, (_, i) => ({ code: null, value: String(100 - i), recurring: false })))).toBe('too_many_thresholds');
  });
});

describe('custom expressions', () => {
  const ev = { code: 'gpu', timestamp: 1_700_000_000, properties: { cpu: 3, dur: '0.5', user: 'u1', app: 'a' } };
  test.each([
    ['(event.properties.cpu * 25 * event.properties.dur) + 1', '38.5'],
    ['ROUND(event.properties.dur * 3)', '2'],
    ['round(2.345, 2)', '2.35'],
    ['ceil(event.properties.cpu / 2)', '2'],
    ['FLOOR(-1.5)', '-2'],
    ['round(1234, -2)', '1200'],
    ["CONCAT(event.properties.user, '-', event.properties.app)", 'u1-a'],
    ['event.timestamp / 100', '17000000'],
    ['0.1 + 0.2', '0.3'],
  ])('%s = %s (exact decimals, half-up ROUND)', (expr, want) => {
    expect(evaluateExpression(expr, ev)).toBe(want);
  });
  test.each([
    ['1 +', 'invalid_expression'],
    ['foo(1)', 'invalid_expression'],
    ['event.other', 'invalid_expression'],
    ['event.properties.missing + 1', 'expression_evaluation_failed'],
    ['1 / 0', 'expression_evaluation_failed'],
    ['event.properties.user * 2', 'expression_evaluation_failed'],
  ])('%s is refused with %s', (expr, code) => {
    expect(() => evaluateExpression(expr, ev)).toThrow(expect.objectContaining({ code, field: 'expression' }));
  });
});

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseEcbHistoryCsv, parseEcbXml } from '../../adapters/fx/ecb-parser';
import { EcbHttpFeed } from '../../adapters/fx/ecb-http';
import { FxFeedError } from '../../adapters/fx/port';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'ecb');
const read = (f: string) => fs.readFileSync(path.join(FIXTURES, f), 'utf8');

describe('ECB XML parser', () => {
  it('reads the daily file: one day, every currency, rates as the exact decimal strings published', () => {
    const rates = parseEcbXml(read('eurofxref-daily.xml'));
    expect(new Set(rates.map((r) => r.date))).toEqual(new Set(['2026-11-27']));
    expect(rates).toHaveLength(29);
    expect(rates).toContainEqual({ currency: 'USD', date: '2026-11-27', rate: '1.0562' });
    // Trailing zeros are the ECB's figure; kept as a string, never a float (0.8321).
    expect(rates).toContainEqual({ currency: 'GBP', date: '2026-11-27', rate: '0.8321' });
    expect(rates).toContainEqual({ currency: 'IDR', date: '2026-11-27', rate: '17345.12' });
    for (const r of rates) expect(typeof r.rate).toBe('string');
  });

  it('reads the 90-day file: 62 publication days (weekends absent) × 29 currencies', () => {
    const rates = parseEcbXml(read('eurofxref-hist-90d.xml'));
    const days = [...new Set(rates.map((r) => r.date))].sort();
    expect(days).toHaveLength(62);
    expect(days.at(-1)).toBe('2026-11-27');
    expect(days).not.toContain('2026-11-28'); // a Saturday
    expect(rates).toHaveLength(62 * 29);
  });

  it.each([
    ['not XML at all', '<html><body>Service Unavailable'],
    ['another XML document', '<?xml version="1.0"?><feed><entry/></feed>'],
    ['a day without a date', read('eurofxref-daily.xml').replace("time='2026-11-27'", "time='27/11/2026'")],
    ['a rate that is not a number', read('eurofxref-daily.xml').replace("rate='1.0562'", "rate='n/a'")],
    ['a negative rate', read('eurofxref-daily.xml').replace("rate='1.0562'", "rate='-1.0562'")],
    ['an empty Cube', read('eurofxref-daily.xml').replace(/<Cube time[\s\S]*<\/Cube>\n\t<\/Cube>/, '</Cube>')],
  ])('refuses %s with fx_feed_malformed, never a partial result', (_what, xml) => {
    expect(() => parseEcbXml(xml)).toThrow(expect.objectContaining({ code: 'fx_feed_malformed', retryable: false }));
  });
});

describe('ECB history CSV parser', () => {
  const rates = parseEcbHistoryCsv(read('eurofxref-hist.csv'));
  it('reads every quoted cell, skips N/A and the trailing empty column', () => {
    expect(rates.filter((r) => r.date === '2026-11-27')).toHaveLength(29);
    expect(rates.some((r) => r.currency === 'BGN')).toBe(false); // N/A on every row
    expect(rates).toContainEqual({ currency: 'USD', date: '1999-01-04', rate: '1.1789' });
    expect(rates).toContainEqual({ currency: 'CYP', date: '1999-01-04', rate: '0.58231' });
  });
  it('turns the exponent form of old rows into a plain decimal string', () => {
    expect(rates).toContainEqual({ currency: 'ROL', date: '1999-01-04', rate: '13111' });
  });
  it.each([
    ['no header', '2026-11-27,1.0562,\n'],
    ['a bad date', 'Date,USD,\n27.11.2026,1.0562,\n'],
    ['a bad figure', 'Date,USD,\n2026-11-27,1,0562\n'],
    ['a non-currency column', 'Date,US Dollar,\n2026-11-27,1.0562,\n'],
  ])('refuses %s', (_what, csv) => {
    expect(() => parseEcbHistoryCsv(csv)).toThrow(FxFeedError);
  });
});

describe('EcbHttpFeed against a server answering like the ECB', () => {
  let server: http.Server;
  let base: string;
  let next: { status: number; body?: string } | null = null;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (next) {
        res.writeHead(next.status, { 'content-type': 'text/html' }).end(next.body ?? '');
        next = null;
        return;
      }
      const file = path.join(FIXTURES, path.basename(req.url ?? ''));
      if (req.url !== `/stats/eurofxref/${path.basename(file)}` || !fs.existsSync(file)) {
        res.writeHead(404).end('Not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/eurofxref`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches and parses the daily and the 90-day files', async () => {
    const feed = new EcbHttpFeed({ baseUrl: base });
    expect(await feed.fetchDaily()).toHaveLength(29);
    expect(await feed.fetchLast90Days()).toHaveLength(62 * 29);
  });
  it('a 503 is a retryable outage', async () => {
    next = { status: 503, body: 'Service Unavailable' };
    await expect(new EcbHttpFeed({ baseUrl: base }).fetchDaily()).rejects.toMatchObject({ code: 'fx_feed_unavailable', retryable: true });
  });
  it('a 404 is a non-retryable rejection', async () => {
    await expect(new EcbHttpFeed({ baseUrl: `${base}/missing` }).fetchDaily()).rejects.toMatchObject({ code: 'fx_feed_rejected', retryable: false });
  });
  it('a 200 with an HTML error page is malformed, not rates', async () => {
    next = { status: 200, body: '<html><body>Maintenance</body></html>' };
    await expect(new EcbHttpFeed({ baseUrl: base }).fetchDaily()).rejects.toMatchObject({ code: 'fx_feed_malformed' });
  });
  it('a refused connection is a retryable outage', async () => {
    await expect(new EcbHttpFeed({ baseUrl: 'http://127.0.0.1:1/x' }).fetchDaily()).rejects.toMatchObject({ code: 'fx_feed_unavailable', retryable: true });
  });
});

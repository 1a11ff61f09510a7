// A fake VIES REST service on loopback, behaving like the Commission's: GET /ms/{cc}/vat/{number} answers 200 with
// `isValid` and `userError` VALID / INVALID, or MS_UNAVAILABLE for a member state marked down; INVALID_INPUT with
// 400 for a malformed number; a number marked slow answers after `slowMs` (for client timeouts); 503 when the
// whole service is marked down. Counts requests so tests can see the cache.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVies {
  url: string;
  registered: Set<string>;
  unavailableStates: Set<string>;
  slowNumbers: Set<string>;
  requests: string[];
  setServiceDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFakeVies(opts: { slowMs?: number } = {}): Promise<FakeVies> {
  const registered = new Set<string>();
  const unavailableStates = new Set<string>();
  const slowNumbers = new Set<string>();
  const requests: string[] = [];
  let serviceDown = false;
  const server = http.createServer((req, res) => {
    const m = /^\/ms\/([A-Z]{2})\/vat\/([^/?]+)$/.exec(req.url ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return send(404, { errorWrappers: [{ error: 'NOT_FOUND' }] });
    const [, cc, num] = m as unknown as [string, string, string];
    requests.push(`${cc}${num}`);
    const answer = () => {
      if (serviceDown) return send(503, { actionSucceed: false, errorWrappers: [{ error: 'SERVICE_UNAVAILABLE' }] });
      if (!/^[0-9A-Z+*]{2,12}$/.test(num)) return send(400, { actionSucceed: false, errorWrappers: [{ error: 'INVALID_INPUT' }] });
      const requestDate = '2026-12-01T09:00:00.000Z';
      if (unavailableStates.has(cc)) return send(200, { isValid: false, requestDate, userError: 'MS_UNAVAILABLE', name: '---', address: '---', requestIdentifier: '', vatNumber: num });
      const ok = registered.has(`${cc}${num}`);
      return send(200, {
        isValid: ok,
        requestDate,
        userError: ok ? 'VALID' : 'INVALID',
        name: ok ? `Company ${cc}${num}` : '---',
        address: ok ? 'Somewhere' : '---',
        requestIdentifier: ok ? `WAPIAAAA${num}` : '',
        vatNumber: num,
      });
    };
    if (slowNumbers.has(`${cc}${num}`)) setTimeout(answer, opts.slowMs ?? 2000);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    registered,
    unavailableStates,
    slowNumbers,
    requests,
    setServiceDown(down) {
      serviceDown = down;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

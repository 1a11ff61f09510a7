// A real webhook receiver for tests: node:http on 127.0.0.1 that verifies both of Lago's signatures
// (HMAC with the organization's key; RS256 JWT with the public key served by the API, through `jose`) and
// records every delivery. Its answers are scripted per request (e.g. 500, 500, then 200).
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

export interface ReceivedWebhook {
  body: string;
  json: any;
  algorithm: string | undefined;
  uniqueKey: string | undefined;
  /** The signature verified (HMAC equal, or JWT valid with `data` equal to the body and the expected issuer). */
  signatureValid: boolean;
  answeredStatus: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** Received requests that were answered 2xx. */
  delivered(): ReceivedWebhook[];
  /** Resolves once `n` requests were answered 2xx. */
  waitForDeliveries(n: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  hmacKey?: string;
  /** The API's public key as served: base64 of the PEM. */
  publicKeyBase64?: string;
  issuer?: string;
  /** Status to answer for the n-th request (0-based); default 200. */
  answer?: (n: number) => number;
  port?: number;
}

export async function verifyHmac(body: string, signature: string | undefined, hmacKey: string): Promise<boolean> {
  if (!signature) return false;
  const expected = crypto.createHmac('sha256', hmacKey).update(body).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export async function verifyJwt(body: string, token: string | undefined, publicKeyBase64: string, issuer: string): Promise<boolean> {
  if (!token) return false;
  try {
    const key = await importSPKI(Buffer.from(publicKeyBase64, 'base64').toString('utf8'), 'RS256');
    const { payload } = await jwtVerify(token, key, { algorithms: ['RS256'], issuer });
    return payload.data === body;
  } catch {
    return false;
  }
}

export async function startWebhookReceiver(opts: ReceiverOptions = {}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters: { n: number; resolve: (r: ReceivedWebhook[]) => void }[] = [];
  const delivered = () => received.filter((r) => r.answeredStatus >= 200 && r.answeredStatus < 300);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const algorithm = req.headers['x-lago-signature-algorithm'] as string | undefined;
        const signature = req.headers['x-lago-signature'] as string | undefined;
        let signatureValid = false;
        if (algorithm === 'hmac' && opts.hmacKey) signatureValid = await verifyHmac(body, signature, opts.hmacKey);
        if (algorithm === 'jwt' && opts.publicKeyBase64) signatureValid = await verifyJwt(body, signature, opts.publicKeyBase64, opts.issuer ?? 'meterline');
        const status = opts.answer ? opts.answer(received.length) : 200;
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        received.push({ body, json, algorithm, uniqueKey: req.headers['x-lago-unique-key'] as string | undefined, signatureValid, answeredStatus: status });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: status < 300 }));
        const d = delivered();
        for (const w of [...waiters]) {
          if (d.length >= w.n) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(d);
          }
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    port,
    received,
    delivered,
    waitForDeliveries(n) {
      const d = delivered();
      if (d.length >= n) return Promise.resolve(d);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// The FX refresh Schedule on the real Temporal dev server: created once however often the system starts,
// daily at 16:30 Europe/Berlin, and its run stores the feed's rates through the real worker and Postgres.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { parseEcbXml } from '../../adapters/fx/ecb-parser';
import { FakeFxFeed } from '../../adapters/fx/fake';
import { ensureFxRefreshSchedule } from '../../worker/fx-schedule';
import { createBillingWorker } from '../../worker/worker';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';
import { bundleWorkflows } from './fakes';

const DAILY = parseEcbXml(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'ecb', 'eurofxref-daily.xml'), 'utf8'));

let t: TestDatabase;
let connection: Connection;
let client: Client;
beforeAll(async () => {
  t = await createTestDatabase('fx_sched');
  connection = await Connection.connect({ address: temporalTestAddress() });
  client = new Client({ connection, namespace: 'default' });
});
afterAll(async () => {
  await connection.close();
  await t.drop();
});

it('ensureFxRefreshSchedule creates the daily schedule once, and its triggered run stores the ECB rates', async () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const scheduleId = `fx-refresh-test-${suffix}`;
  const taskQueue = `fx-test-${suffix}`;
  const native = await NativeConnection.connect({ address: temporalTestAddress() });
  const feed = new FakeFxFeed(DAILY);
  const worker = await createBillingWorker({ connection: native, namespace: 'default', db: t.db, taskQueue, fxFeed: feed, workflowBundle: await bundleWorkflows() });
  const run = worker.run();
  try {
    expect(await ensureFxRefreshSchedule(client, { scheduleId, taskQueue })).toBe('created');
    expect(await ensureFxRefreshSchedule(client, { scheduleId, taskQueue })).toBe('exists');

    const desc = await client.schedule.getHandle(scheduleId).describe();
    expect(desc.action).toMatchObject({ type: 'startWorkflow', workflowType: 'refreshFxRatesWorkflow', taskQueue });
    expect(desc.spec.timezone).toBe('Europe/Berlin');
    expect(desc.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 16, end: 16, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });

    // The creation triggered one run at once: wait for the rates to land.
    const deadline = Date.now() + 60_000;
    let n = 0;
    while (Date.now() < deadline) {
      n = Number((await t.db('fx_rates').count<{ n: string }[]>({ n: '*' }))[0]!.n);
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(n).toBe(29);
    expect(feed.calls).toBe(1);
  } finally {
    await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    worker.shutdown();
    await run;
    await native.close();
  }
});

import fs from 'node:fs';
import type { RunningPostgres } from '../../dev/postgres';
import type { RunningTemporal } from '../../dev/temporal';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  await (g.__METERLINE_TEMPORAL__ as RunningTemporal | undefined)?.stop();
  await (g.__METERLINE_PG__ as RunningPostgres | undefined)?.stop();
  const dir = g.__METERLINE_PG_DIR__ as string | undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  const bundleDir = g.__METERLINE_BUNDLE_DIR__ as string | undefined;
  if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
}

// One workflow bundle per test run. Bundling workflows/ with webpack takes seconds of CPU (7-10 s on a loaded
// 2-core machine), and some thirty test files each made their own, identical bundle (every time-skipping
// workflow test, every e2e system, every test worker). The global setup bundles once, writes the code to a file
// and names it in METERLINE_TEST_WORKFLOW_BUNDLE; workers get it through `workflowBundle: await testWorkflowBundle()`.
// Outside jest (the history recorder run with tsx) the variable is unset and the bundle is built as before.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const WORKFLOW_BUNDLE_ENV = 'METERLINE_TEST_WORKFLOW_BUNDLE';

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string, meta?: Record<string, unknown>) {
    console.error(message, meta);
  },
};

/** Bundles workflows/ (the worker's one workflowsPath) with webpack. */
export function buildWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
}

/** Bundles once and writes the code under `dir`; returns the file's path (global setup). */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const { code } = await buildWorkflowBundle();
  const file = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(file, code);
  return file;
}

let cached: Promise<WorkflowBundleWithSourceMap> | null = null;

/** The run's workflow bundle: the global setup's file when there is one, else built (once per process). */
export function testWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  cached ??= (async () => {
    const file = process.env[WORKFLOW_BUNDLE_ENV];
    // sourceMap: unused by the SDK (its bundles inline their source maps), kept for the deprecated type.
    if (file) return { code: await fs.promises.readFile(file, 'utf8'), sourceMap: '' };
    return buildWorkflowBundle();
  })();
  return cached;
}

/**
 * Jest: TypeScript through @swc/jest (typescript 7 has no compiler API, so no ts-jest).
 *
 * Two projects:
 * - `unit`: the pure engine (test/billing, test/conformance): no services, seconds. `npm run test:unit`.
 * - `integration`: everything else, against a real Postgres and a real Temporal server started once per run by
 *   the global setup (which runs only when a test of this project is selected).
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
};
const UNIT_ROOTS = ['<rootDir>/test/billing/', '<rootDir>/test/conformance/'];

module.exports = {
  testTimeout: 120000,
  // A test that times out can leave a Temporal worker holding native handles; exit once the run (and the
  // global teardown that stops Postgres and the Temporal server) is done rather than hang CI.
  forceExit: true,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: UNIT_ROOTS.map((root) => `${root}**/*.test.ts`),
      transform,
      testTimeout: 120000,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...UNIT_ROOTS],
      transform,
      testTimeout: 120000,
      setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};

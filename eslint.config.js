// ESLint (flat config). The Temporal samples' rules plus Meterline's layering (CONVENTIONS.md):
// - no floating promises anywhere (a forgotten await on an activity, a signal or a query is a bug);
// - workflows/: no Node built-ins and nothing with I/O or non-determinism (only billing/, @temporalio/workflow,
//   @temporalio/common, sibling workflow modules, and activity *types*);
// - no import cycles;
// - Decimal stays in billing/: `decimal.js` and the Decimal-valued helpers of billing/money.ts are imported
//   only there (outside, money is integer cents or decimal strings);
// - SQL only in db/: knex/pg imported as values only in db/ (and the composition roots and tools), and a query
//   is started only in db/ (tools/eslint/meterline-rules.js, type-aware).
'use strict';
const { builtinModules } = require('node:module');
const tseslint = require('typescript-eslint');
const importX = require('eslint-plugin-import-x');
const meterline = require('./tools/eslint/meterline-rules');

const NODE_BUILTINS = builtinModules.flatMap((m) => [m, `node:${m}`]);

const decimalOutsideBilling = [
  { name: 'decimal.js', message: 'Decimal lives in billing/ only: outside it, money is integer cents or decimal strings.' },
];
const decimalHelpersPattern = {
  group: ['**/billing/money'],
  importNames: ['D', 'Dec', 'dec', 'str'],
  message: 'Decimal values stay inside billing/: call a billing/ function that takes and returns decimal strings.',
};
const sqlDriversOutsideDb = [
  { name: 'knex', message: 'SQL only in db/: call a repository (type-only imports of Knex are fine).', allowTypeImports: true },
  { name: 'pg', message: 'SQL only in db/: call a repository.', allowTypeImports: true },
];

/** Options of @typescript-eslint/no-restricted-imports for a folder (flat config replaces, never merges, a rule). */
function restrictedImports({ decimal = true, sql = true, workflow = false, noWorkflowModules = false } = {}) {
  const paths = [...(decimal ? decimalOutsideBilling : []), ...(sql ? sqlDriversOutsideDb : [])];
  const patterns = decimal ? [decimalHelpersPattern] : [];
  if (noWorkflowModules) {
    patterns.push({
      group: ['../workflows', '../workflows/*', '../../workflows', '../../workflows/*'],
      message: 'db/ and activities/ never import a workflow module: shared ids and message contracts live in contracts/.',
    });
  }
  if (workflow) {
    paths.push(
      ...NODE_BUILTINS.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (CONVENTIONS).' })),
      ...['express', 'stripe', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'luxon'].map((name) => ({
        name,
        message: 'Workflow code is deterministic and has no I/O: use an activity.',
      })),
    );
    patterns.push(
      { group: ['../activities/*', '../activities'], allowTypeImports: true, message: 'Workflows import activity types only.' },
      { group: ['../db/*', '../api/*', '../usage/*', '../config/*', '../worker/*'], message: 'Workflows never import I/O modules.' },
    );
  }
  return ['error', { paths, patterns }];
}

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.venv/**', '.data/**', 'coverage/**', '.tmp/**', '.schemathesis/**', 'test/artifacts/**', 'test/workflows/histories/**', 'test/conformance/fixtures/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX, meterline },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-restricted-imports': restrictedImports(),
      'meterline/no-sql-outside-db': 'error',
    },
  },
  // billing/ is the pure engine: Decimal yes; no I/O at all.
  {
    files: ['billing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['knex', 'pg', 'express', 'stripe'].map((name) => ({ name, message: 'billing/ is pure: no I/O.' })),
            ...['fs', 'node:fs', 'http', 'node:http', 'https', 'node:https', 'net', 'node:net', 'child_process', 'node:child_process'].map(
              (name) => ({ name, message: 'billing/ is pure: no I/O.' }),
            ),
          ],
          patterns: [{ group: ['@temporalio/*'], message: 'billing/ has no Temporal imports.' }, { group: ['../db/*', '../api/*', '../activities/*', '../workflows/*', '../usage/*'], message: 'billing/ imports nothing with I/O.' }],
        },
      ],
    },
  },
  { files: ['workflows/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restrictedImports({ workflow: true }) } },
  { files: ['activities/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restrictedImports({ noWorkflowModules: true }) } },
  {
    files: ['db/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports({ sql: false, noWorkflowModules: true }), 'meterline/no-sql-outside-db': 'off' },
  },
  // db/ writes the SQL; composition roots, dev services, tools, benchmarks and tests may drive a database directly.
  {
    files: ['dev/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'tools/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports({ sql: false }), 'meterline/no-sql-outside-db': 'off' },
  },
  // Tests check billing/ internals with its own Decimal helpers.
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': 'off' } },

);

/**
 * Jest for the containers tier (`npm run test:containers`, infra/containers/test-containers.sh):
 * the integration project, run against services that its globalSetup starts from the project's
 * images with testcontainers (test/support/containers/), instead of the local stack. The test files
 * that are about the native stack itself are left out, each with its reason, in
 * test/support/containers/excluded.json (the run prints them).
 */
const base = require('./jest.config');
const excluded = require('./test/support/containers/excluded.json');

const integration = base.projects.find((project) => project.displayName === 'integration');
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  testTimeout: base.testTimeout,
  projects: [
    {
      ...integration,
      displayName: 'containers',
      globalSetup: '<rootDir>/test/support/containers/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/containers/global-teardown.ts',
      // The services' settings first: ledger-env.ts then keeps the TB_ADDRESSES they give.
      setupFiles: ['<rootDir>/test/support/containers/env.ts', ...integration.setupFiles],
      testPathIgnorePatterns: [
        '/node_modules/',
        ...excluded.map((entry) => `<rootDir>/${escape(entry.test)}$`),
      ],
    },
  ],
};

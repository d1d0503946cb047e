/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
  setupFiles: ['<rootDir>/local/quiet-node20-warning.cjs', '<rootDir>/test/helpers/tool-path.cjs'],
  testTimeout: 60_000,
  // Two workers even on two cores (jest's default there is one): many suites wait on real time, on the
  // synthesis process or on a spawned command line, and a second worker fills those waits.
  maxWorkers: 2,
};

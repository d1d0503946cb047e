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
};

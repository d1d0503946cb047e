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
  // A worker has this long to end once the run is over (jest's default is 500 ms). Ours end at once (their
  // event loop is empty within 3 ms of jest's request), but the process then frees its memory, which grows
  // to 0.7 to 1.2 GB over the suite (garbage not yet collected: collected after each file, the unit files'
  // heap stays under 100 MB). That took 350 to 600 ms on two cores, so jest sometimes killed a worker that
  // was already ending and warned of a leak. A handle left open still holds a worker past two seconds, and
  // jest still says so.
  workerGracefulExitTimeout: 2000,
};

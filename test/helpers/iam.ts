import { IAMClient } from '@aws-sdk/client-iam';
import { join } from 'node:path';
import { readAccountFile, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../local/emulator';

export const EDGE_ACCOUNT_FILE = join(__dirname, '..', 'fixtures', 'edge-account.json');

/**
 * A short leftover loop, so a local run of the edge account takes seconds; and a failure threshold its
 * two failing entities of twelve stay within, so its run is COMPLETED.
 */
export const FAST_SETTINGS = { maxAttempts: 3, pollBudgetSeconds: 60, leftoverWaitSeconds: 10, maxFailedPercent: 25 };

export function edgeAccount() {
  return readAccountFile(EDGE_ACCOUNT_FILE);
}

export async function startEdgeEmulator(options: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  return startEmulator({ account: edgeAccount(), ...options });
}

/** An IAM client of the real SDK, signing as the given access key id. */
export function iamClient(url: string, accessKeyId = 'AKIDTESTCALLER000001', maxAttempts?: number): IAMClient {
  return new IAMClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId, secretAccessKey: 'test-secret' },
    maxAttempts,
  });
}

/**
 * `iam-access-audit emulator`: runs the IAM emulator in the foreground until interrupted.
 */
import { startEmulator } from '../local/emulator';
import { ACCOUNT_FLAGS, accountFromFlags, EMULATOR_BEHAVIOUR_FLAGS, emulatorBehaviourFromFlags } from './account-source';
import { numberFlag, parseFlags, UsageError } from './flags';

export const EMULATOR_USAGE = `iam-access-audit emulator [--port P] (--account FILE | --sample N | --org FILE | --org-sample AxE) [--seed S] [--as-of YYYY-MM-DD]
    [--throttle-rps R] [--throttle-burst B] [--job-latency-ms MS] [--slow-job-latency-ms MS]
    [--time-scale X] [--short-pages] [--reset-connections P] [--access-key KEY:SECRET ...] [--strict-auth]

  Serves IAM's access-advisor and listing API for the account on http://127.0.0.1:P (P=0: a free port);
  for an organization, also STS (AssumeRole into member roles, GetCallerIdentity) and Organizations
  (ListAccounts, ListAccountsForParent, ListOrganizationalUnitsForParent, ListRoots), with IAM answering
  in the account of the calling credentials (static keys act in the audit account).
  --throttle-rps R       token-bucket rate per operation, in calls per simulated second (default: off)
  --throttle-burst B     bucket size (default: R)
  --job-latency-ms MS    simulated time a job stays IN_PROGRESS (default 3000)
  --slow-job-latency-ms  the same for entities with fault "slow-job" (default 21600000, 6 hours)
  --time-scale X         simulated seconds per real second (default 1)
  --short-pages          truncated pages hold fewer than MaxItems items, as IAM may answer
  --reset-connections P  destroy the connection of that share of requests, unanswered (0 to 0.5)
  --access-key KEY:SECRET  a static key whose signatures are checked (repeatable)
  --strict-auth          refuse key ids not given with --access-key (InvalidClientTokenId), as AWS does

  Requests are refused as AWS refuses them: no signature (403 MissingAuthenticationToken), a date more
  than 15 minutes off (RequestExpired), a signature the key's secret does not make (SignatureDoesNotMatch).`;

export async function emulatorCommand(args: string[], out: NodeJS.WritableStream): Promise<void> {
  const flags = parseFlags(args, {
    ...ACCOUNT_FLAGS,
    ...EMULATOR_BEHAVIOUR_FLAGS,
    port: { type: 'string' },
    'slow-job-latency-ms': { type: 'string' },
    'time-scale': { type: 'string' },
    'short-pages': { type: 'boolean' },
    'access-key': { type: 'string', multiple: true },
    'strict-auth': { type: 'boolean' },
  });
  const credentials = (flags['access-key'] ?? []).map((pair) => {
    const match = /^([A-Z0-9]{16,128}):(\S+)$/.exec(pair);
    if (!match) throw new UsageError(`--access-key must be KEY:SECRET (an access key id of 16 to 128 capitals and digits), got "${pair}"`);
    return { accessKeyId: match[1], secretAccessKey: match[2] };
  });
  if (flags['strict-auth'] && credentials.length === 0) throw new UsageError('--strict-auth needs at least one --access-key KEY:SECRET');
  const port = numberFlag('port', flags.port, { integer: true, min: 0, max: 65535 }) ?? 0;
  const behaviour = emulatorBehaviourFromFlags(flags);
  const slowJobLatencyMs = numberFlag('slow-job-latency-ms', flags['slow-job-latency-ms'], { min: 0 });
  const timeScale = numberFlag('time-scale', flags['time-scale'], { min: 0, exclusiveMin: true, max: 1_000_000 });
  const source = accountFromFlags(flags);

  const emulator = await startEmulator({
    account: source.account,
    organization: source.organization,
    port,
    timeScale,
    ...behaviour,
    slowJobLatencyMs,
    shortPages: flags['short-pages'],
    credentials,
    strictAuth: flags['strict-auth'],
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new UsageError(`--port ${port} is in use on 127.0.0.1: give another, or --port 0 for a free one`);
    throw err;
  });
  out.write(
    `IAM emulator listening on ${emulator.url}\n` +
      `  ${source.organization ? `organization ${source.organization.organizationId}, audit account` : 'account'} ${source.hubAccountId}: ${source.description}\n` +
      `  throttling ${behaviour.throttle ? `${behaviour.throttle.rps} calls/s per operation, burst ${behaviour.throttle.burst ?? Math.max(1, behaviour.throttle.rps)}` : 'off'}; ` +
      `time scale ${emulator.clock.timeScale}x; ${flags['strict-auth'] ? `only ${credentials.length} keys accepted` : 'any key id accepted'}` +
      `${behaviour.resetConnections ? `; ${behaviour.resetConnections * 100}% of connections reset` : ''}\n` +
      `  counters: ${emulator.url}/_emulator/stats\n` +
      `  try: aws iam list-roles --endpoint-url ${emulator.url}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const totals = emulator.stats().totals;
  await emulator.close();
  out.write(`IAM emulator stopped after ${totals.calls} calls (${totals.throttled} throttled, ${totals.errors} errors)\n`);
}

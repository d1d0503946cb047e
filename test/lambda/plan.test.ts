import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { generateSampleAccount, generateSampleOrganization, loadAccount, loadOrganization, ScaledClock, startEmulator, type RunningEmulator } from '../../local/emulator';
import { accountSource, MemberSessions } from '../../lambda/core/accounts';
import { InvalidInput } from '../../lambda/core/errors';
import { keys, noIamCalls, type BatchFile, type EntityRef } from '../../lambda/core/model';
import type { LatestLongJobsPointer, LongJobs } from '../../lambda/core/long-jobs';
import { ACCOUNTS_PER_LISTING, batchSizes, fillBatches, listAccounts, plan, runIdOf, RUN_ID_PATTERN, startPlan, writePlan, type AccountSource, type PlanRecord } from '../../lambda/core/plan';
import { getJson, putJson, type ReportStore } from '../../lambda/core/store';
import { edgeAccount } from '../helpers/iam';
import { memoryStore, pipelineIam, planDeps, tempStore, TEST_PLAN_SETTINGS } from '../helpers/core';

const execution = { name: 'test-run', startTime: '2026-11-25T03:00:00.000Z' };

/** A batch of the test run, as Plan wrote it. */
const batchFile = (store: ReportStore, batchId: string) => getJson<BatchFile>(store, keys.batch('test-run', batchId));

/** Points latest.json at a complete run, as its Summarize would have. */
/** Points latest-long-jobs.json at the run's file, as Summarize does. */
const latestIs = (store: ReportStore, runId: string) => putJson(store, keys.latestLongJobs(), { runId, longJobsKey: keys.longJobs(runId), writtenAt: '2026-11-24T03:10:00.000Z' } satisfies LatestLongJobsPointer);

describe('Plan', () => {
  let emulator: RunningEmulator;
  const clock = new ScaledClock(1000);

  afterEach(() => emulator?.close());

  it('lists every entity through short truncated pages, batches them, and returns only the batches\' ids', async () => {
    // 2,400 entities in pages that IAM truncates below MaxItems: a client that stops on a short page loses most of them.
    const account = loadAccount(generateSampleAccount({ entities: 2400, seed: 11, asOf: new Date('2026-11-01') }));
    emulator = await startEmulator({ account, clock, shortPages: true });
    const store = tempStore();
    const deps = planDeps(pipelineIam(emulator.url), store, clock, account.accountId, { batchSize: 250 });
    const result = await plan(deps, { input: {}, execution });

    const expected = account.entities.filter((e) => !e.path.startsWith('/aws-service-role/'));
    expect(result.listed).toBe(expected.length);
    const { batches } = await getJson<PlanRecord>(store, keys.plan('test-run'));
    expect(result.batches).toEqual(batches.map((b) => b.batchId));
    expect(batches.map((b) => b.size).reduce((a, b) => a + b, 0)).toBe(expected.length);
    expect(batches.every((b, i) => b.batchId === `b${String(i + 1).padStart(5, '0')}` && b.key === keys.batch('test-run', b.batchId))).toBe(true);
    expect(batches.every((b) => b.accountId === account.accountId && b.peers === batches.length)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(4096);
    const listed: EntityRef[] = [];
    for (const b of batches) {
      const file = await getJson<BatchFile>(store, b.key);
      expect(file).toMatchObject({ batchId: b.batchId, accountId: account.accountId, peers: batches.length });
      expect(file.entities).toHaveLength(b.size);
      listed.push(...file.entities);
    }
    expect(new Set(listed.map((e) => e.arn))).toEqual(new Set(expected.map((e) => e.arn)));
    const sample = listed.find((e) => e.type === 'policy')!;
    const source = account.byArn.get(sample.arn)!;
    expect(sample).toEqual({ arn: source.arn, type: 'policy', name: source.name, path: source.path, id: source.id });
    // Pages of at most 1000, truncated short: more calls than a full-page reader would make, none missed.
    expect(emulator.stats().operations.ListRoles.calls).toBeGreaterThan(1);
    expect(result.run).toEqual({ runId: 'test-run', runDate: '2026-11-25', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: execution.startTime });
    const record = await getJson<PlanRecord>(store, keys.plan('test-run'));
    expect(record.accounts).toEqual([
      { accountId: account.accountId, name: null, status: 'audited', missingArns: [], iamCalls: { list: emulator.stats().totals.calls, generate: 0, get: 0, throttled: 0, retried: 0 } },
    ]);
  });

  it('narrows to entity types and ARNs, and records ARNs that do not exist', async () => {
    emulator = await startEmulator({ account: edgeAccount(), clock });
    const store = tempStore();
    const alice = 'arn:aws:iam::111122223333:user/alice';
    const gone = 'arn:aws:iam::111122223333:user/gone';
    const result = await plan(planDeps(pipelineIam(emulator.url), store, clock, '111122223333'), { input: { entityTypes: ['user'], arns: [alice, gone] }, execution });
    expect(result.listed).toBe(2);
    expect((await batchFile(store, result.batches[0])).entities).toEqual([expect.objectContaining({ arn: alice })]);
    expect((await getJson<PlanRecord>(store, keys.plan('test-run'))).accounts[0].missingArns).toEqual([gone]);
    expect(emulator.stats().operations.ListRoles.calls).toBe(0);
  });

  it('rejects bad input before listing or writing anything', async () => {
    emulator = await startEmulator({ account: edgeAccount(), clock });
    const store = tempStore();
    await expect(plan(planDeps(pipelineIam(emulator.url), store, clock, '111122223333'), { input: { entityTypes: ['robots'] }, execution })).rejects.toBeInstanceOf(InvalidInput);
    expect(await store.list('')).toEqual([]);
    expect(emulator.stats().totals.calls).toBe(0);
  });

  it.each([
    [{ accountIds: ['999999999999'] }, 'accountIds names 999999999999, not among the 1 account the pipeline is set to audit'],
    [{ arns: ['arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::999999999999:role/x'] }, 'arns[1] is in account 999999999999, not among the 1 account the pipeline is set to audit'],
  ])('refuses an input naming an account it does not audit (%j) before listing or writing anything: never a complete run of nothing', async (input, message) => {
    emulator = await startEmulator({ account: edgeAccount(), clock });
    const store = tempStore();
    const run = plan(planDeps(pipelineIam(emulator.url), store, clock, '111122223333'), { input, execution });
    await expect(run).rejects.toBeInstanceOf(InvalidInput);
    await expect(run).rejects.toThrow(message);
    expect(await store.list('')).toEqual([]);
    expect(emulator.stats().totals.calls).toBe(0);
  });

  it('fails an account it cannot list with the error\'s code, alone, instead of failing the run', async () => {
    emulator = await startEmulator({ account: edgeAccount(), clock, strictAuth: true });
    const store = tempStore();
    const result = await plan(planDeps(pipelineIam(emulator.url, 'ASIANOBODYKNOWSTHIS'), store, clock, '111122223333'), { input: {}, execution });
    expect(result).toMatchObject({ listed: 0, batches: [] });
    const record = await getJson<PlanRecord>(store, keys.plan('test-run'));
    expect(record.accounts).toEqual([expect.objectContaining({ accountId: '111122223333', status: 'failed', code: 'InvalidClientTokenId' })]);
  });
});

describe('Plan, after a run with long jobs', () => {
  const clock = new ScaledClock(1000);
  const account = loadAccount(generateSampleAccount({ entities: 600, seed: 5, asOf: new Date('2026-11-01') }));

  async function filesOf(store: ReturnType<typeof tempStore>, input: object = {}): Promise<BatchFile[]> {
    const emulator = await startEmulator({ account, clock });
    try {
      const result = await plan(planDeps(pipelineIam(emulator.url), store, clock, account.accountId, { batchSize: 250 }), { input, execution });
      return await Promise.all(result.batches.map((id) => batchFile(store, id)));
    } finally {
      await emulator.close();
    }
  }

  const batchesOf = async (store: ReturnType<typeof tempStore>): Promise<EntityRef[][]> => (await filesOf(store)).map((file) => file.entities.slice());

  it('puts the entities whose jobs were long at the heads of the account\'s batches, longest first, the rest in listing order', async () => {
    const listingOrder = (await batchesOf(tempStore())).flat();
    expect(listingOrder.length).toBeGreaterThan(500);
    // The last entities listed: generated last, unless the latest run says their jobs were long.
    const tail = listingOrder.slice(-7).map((e) => e.arn);
    const store = tempStore();
    await latestIs(store, 'night-1');
    const long: LongJobs = {
      schemaVersion: 1,
      runId: 'night-1',
      accounts: {
        [account.accountId]: [{ arn: tail[6], seconds: null }, ...tail.slice(0, 6).map((arn, i) => ({ arn, seconds: 600 - i })), { arn: `arn:aws:iam::${account.accountId}:role/gone-since`, seconds: 30 }],
        '999999999999': [{ arn: 'arn:aws:iam::999999999999:role/elsewhere', seconds: 40 }],
      },
    };
    await putJson(store, keys.longJobs('night-1'), long);

    const batches = await batchesOf(store);
    expect(batches.map((b) => b.length)).toEqual(batchSizes(listingOrder.length, 250));
    const ordered = [tail[6], ...tail.slice(0, 6)];
    // Dealt one to each batch in turn: three batches side by side each start their long jobs at once.
    batches.forEach((batch, i) => expect(batch.slice(0, 3).map((e) => e.arn).filter((arn) => ordered.includes(arn))).toEqual(ordered.filter((_, j) => j % 3 === i)));
    const rest = batches.flatMap((batch, i) => batch.slice(ordered.filter((_, j) => j % 3 === i).length));
    expect(rest).toEqual(listingOrder.filter((e) => !ordered.includes(e.arn)));
  });

  it('gives each of an account\'s batches its share of the rates IAM admitted there in the latest run, and none without them', async () => {
    const first = await filesOf(tempStore());
    expect(first).toHaveLength(3);
    for (const file of first) expect(file).not.toHaveProperty('learned');
    const store = tempStore();
    await latestIs(store, 'night-1');
    const long: LongJobs = { schemaVersion: 1, runId: 'night-1', accounts: {}, callRates: { [account.accountId]: { generate: 9, get: 7.5 }, '999999999999': { generate: 60 } } };
    await putJson(store, keys.longJobs('night-1'), long);
    // Three batches side by side share the account's rates, as they share its ceiling.
    for (const file of await filesOf(store)) expect(file.learned).toEqual({ generate: 3, get: 2.5 });
  });

  it('keeps the listing order when the latest run\'s long jobs cannot be read, and says why', async () => {
    const listingOrder = await batchesOf(tempStore());
    const store = tempStore();
    await latestIs(store, 'night-1');
    await store.put(keys.longJobs('night-1'), '{"schemaVersion": 7}');
    // A file of the right version whose account times are not numbers is not read either.
    const badTimes = tempStore();
    await latestIs(badTimes, 'night-1');
    await putJson(badTimes, keys.longJobs('night-1'), { schemaVersion: 1, runId: 'night-1', accounts: {}, accountTimes: { [account.accountId]: { seconds: 'long', entities: 3 } } });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await batchesOf(store)).toEqual(listingOrder);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("the latest run's long jobs cannot be read"));
      warn.mockClear();
      expect(await batchesOf(badTimes)).toEqual(listingOrder);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`accountTimes.${account.accountId} is not { seconds, entities }`));
      // Nor one whose rates are not positive rates of known kinds of call: no batch starts from them.
      for (const rates of [{ generate: -1 }, { generate: 5, put: 5 }, { get: 'fast' }]) {
        const badRates = tempStore();
        await latestIs(badRates, 'night-1');
        await putJson(badRates, keys.longJobs('night-1'), { schemaVersion: 1, runId: 'night-1', accounts: {}, callRates: { [account.accountId]: rates } });
        warn.mockClear();
        const files = await filesOf(badRates);
        for (const file of files) expect(file).not.toHaveProperty('learned');
        expect(files.map((f) => f.entities)).toEqual(listingOrder);
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`callRates\\.${account.accountId}\\.(generate|put|get) is not a positive rate`)));
      }
    } finally {
      warn.mockRestore();
    }
    // A run whose file is gone (the bucket's retention): silently the listing order.
    const older = tempStore();
    await latestIs(older, 'night-0');
    expect(await batchesOf(older)).toEqual(listingOrder);
  });

  it('starts from the latest run that wrote long jobs, whatever its status, and says which and whether the input narrowed the run', async () => {
    const store = tempStore();
    const listingOrder = (await batchesOf(tempStore())).flat();
    const [completed, incomplete] = [listingOrder[listingOrder.length - 1], listingOrder[listingOrder.length - 2]].map((e) => e.arn);
    // latest.json names the latest COMPLETED run; a later INCOMPLETE one learned more.
    await putJson(store, keys.latest(), { runId: 'night-1', summaryKey: keys.summary('night-1'), completedAt: '2026-11-24T03:10:00.000Z' });
    await putJson(store, keys.longJobs('night-1'), { schemaVersion: 1, runId: 'night-1', accounts: { [account.accountId]: [{ arn: completed, seconds: 40 }] } } satisfies LongJobs);
    await putJson(store, keys.longJobs('night-2'), { schemaVersion: 1, runId: 'night-2', accounts: { [account.accountId]: [{ arn: incomplete, seconds: 40 }] } } satisfies LongJobs);
    await latestIs(store, 'night-2');
    expect((await batchesOf(store))[0][0].arn).toBe(incomplete);
    expect(await getJson<PlanRecord>(store, keys.plan('test-run'))).toMatchObject({ longJobsFrom: 'night-2', narrowed: false });

    const planned = async (input: object, into = tempStore()) => {
      await filesOf(into, input);
      return getJson<PlanRecord>(into, keys.plan('test-run'));
    };
    expect(await planned({ entityTypes: ['role'] })).toMatchObject({ longJobsFrom: null, narrowed: true });
    expect(await planned({ arns: [completed] })).toMatchObject({ narrowed: true });
    expect(await planned({ entityTypes: ['policy', 'role', 'group', 'user'], granularity: 'ACTION_LEVEL', accountIds: [account.accountId] })).toMatchObject({ narrowed: false });
  });
});

describe('fillBatches', () => {
  const e = (name: string): EntityRef => ({ arn: `arn:aws:iam::111122223333:role/${name}`, type: 'role', name, path: '/', id: `AROA${name}` });
  it('deals the long ones to each batch in turn and fills each batch with the rest before the next', () => {
    const [a, b, c, d, f, g] = ['a', 'b', 'c', 'd', 'f', 'g'].map(e);
    expect(fillBatches([3, 3], { long: [a, b, c], rest: [d, f, g] })).toEqual([[a, c, d], [b, f, g]]);
    expect(fillBatches([3, 2], { long: [], rest: [a, b, c, d, f] })).toEqual([[a, b, c], [d, f]]);
    expect(fillBatches([3, 2], { long: [a, b, c, d, f], rest: [] })).toEqual([[a, c, f], [b, d]]);
  });
});

describe('Plan, for an organization', () => {
  let emulator: RunningEmulator;
  afterEach(() => emulator?.close());

  it('lists the accounts side by side, each through its own member-role session', async () => {
    const organization = loadOrganization(generateSampleOrganization({ accounts: 4, entitiesPerAccount: 30, seed: 'plan-org' }));
    const clock = new ScaledClock(50);
    const hub = { accessKeyId: 'AKIDHUBPRINCIPAL0001', secretAccessKey: 'hub-secret' };
    // One list call a second in each account: one account after another would take four times as long.
    emulator = await startEmulator({ organization, clock, credentials: [hub], recordCalls: true, throttle: { rps: 1, burst: 1 } });
    const client = <T>(Client: new (config: object) => T): T => new Client({ region: 'us-east-1', endpoint: emulator.url, credentials: hub, maxAttempts: 1 });
    const sessions = new MemberSessions({
      sts: client(STSClient),
      clock,
      memberRoleName: organization.memberRoleName,
      partition: 'aws',
      sessionName: 'plan',
      iamClient: (c) => new IAMClient({ region: 'us-east-1', endpoint: emulator.url, credentials: c, maxAttempts: 1 }),
    });
    const config = { source: 'organization' as const, memberRoleName: organization.memberRoleName, organizationalUnitIds: [], excludeAccountIds: [] };
    const source = accountSource(config, { accountId: organization.auditAccountId, iam: client(IAMClient) }, { organizations: client(OrganizationsClient), sessions });
    const store = tempStore();
    const result = await plan({ source, store, clock, pacing: { callsPerSecond: 1 }, settings: TEST_PLAN_SETTINGS }, { input: {}, execution });
    const record = await getJson<PlanRecord>(store, keys.plan('test-run'));
    expect(record.accounts.map((a) => [a.accountId, a.status])).toEqual(organization.accounts.map((a) => [a.accountId, 'audited']));
    expect(result.listed).toBe(organization.accounts.reduce((n, a) => n + a.account.entities.filter((e) => !e.path.startsWith('/aws-service-role/')).length, 0));
    // Every account's listing began before any account's ended, and each went through that account's session.
    const reads = emulator.calls().filter((c) => c.operation.startsWith('List') && c.operation !== 'ListAccounts' && c.outcome !== 'Throttling');
    const spans = organization.accounts.map((a) => reads.filter((c) => c.accountId === a.accountId).map((c) => c.at));
    expect(Math.max(...spans.map((at) => Math.min(...at)))).toBeLessThan(Math.min(...spans.map((at) => Math.max(...at))));
    expect(reads.every((c) => c.caller !== hub.accessKeyId)).toBe(true);
    // The Map starts batches in this order: one of each account in turn, the largest accounts first
    // (equal ones in their listing order), round after round.
    const listing = record.accounts.map((a) => a.accountId);
    const batchesOf = (id: string) => record.batches.filter((b) => b.accountId === id);
    const total = (id: string) => batchesOf(id).reduce((n, b) => n + b.size, 0);
    const largestFirst = [...listing].sort((a, b) => total(b) - total(a) || listing.indexOf(a) - listing.indexOf(b));
    expect(new Set(listing.map(total)).size).toBeGreaterThan(1);
    expect(largestFirst).not.toEqual(listing);
    const roundsOf = (order: string[]) => Array.from({ length: Math.max(...listing.map((id) => batchesOf(id).length)) }, (_, r) => order.filter((id) => batchesOf(id).length > r)).flat();
    expect(record.batches.map((b) => b.accountId)).toEqual(roundsOf(largestFirst));

    // The next night: the smallest account took longest last time (a job that never finished held its
    // place through every wait), so it starts first; the others keep the order of their times.
    const smallest = largestFirst[largestFirst.length - 1];
    const next = tempStore();
    await latestIs(next, 'night-1');
    const timed = [smallest, ...largestFirst.slice(0, -1)];
    const accountTimes = Object.fromEntries(timed.map((id, i) => [id, { seconds: id === smallest ? 2700 : 100 - i, entities: total(id) }]));
    await putJson(next, keys.longJobs('night-1'), { schemaVersion: 1, runId: 'night-1', accounts: {}, accountTimes } satisfies LongJobs);
    await plan({ source, store: next, clock, pacing: { callsPerSecond: 1 }, settings: TEST_PLAN_SETTINGS }, { input: {}, execution });
    const nextRecord = await getJson<PlanRecord>(next, keys.plan('test-run'));
    expect(nextRecord.batches.map((b) => b.accountId)).toEqual(roundsOf(timed));
  });
});

describe('Plan, in its three steps', () => {
  let emulator: RunningEmulator;
  afterEach(() => emulator?.close());

  it('deals the active accounts into listing groups, and fails alone the accounts of a group whose listing failed, with its error', async () => {
    const account = loadAccount(generateSampleAccount({ entities: 12, seed: 'groups' }));
    emulator = await startEmulator({ account });
    const iam = pipelineIam(emulator.url);
    // Every account is listed through the one emulated account: what matters here is which accounts are listed.
    const ids = Array.from({ length: 2 * ACCOUNTS_PER_LISTING + 5 }, (_, i) => String(200000000000 + i));
    const source: AccountSource = {
      accounts: async () => [...ids.map((accountId) => ({ accountId, name: null, status: 'ACTIVE' })), { accountId: '299999999999', name: 'old', status: 'SUSPENDED' }, { accountId: '299999999998', name: 'closing', status: 'PENDING_CLOSURE' }],
      iam: async () => iam,
    };
    const store = tempStore();
    const deps = { ...planDeps(iam, store, new ScaledClock(1000), account.accountId), source };
    const start = await startPlan(deps, { input: {}, execution });
    expect(start.listings).toEqual([ids.slice(0, ACCOUNTS_PER_LISTING), ids.slice(ACCOUNTS_PER_LISTING, 2 * ACCOUNTS_PER_LISTING), ids.slice(2 * ACCOUNTS_PER_LISTING)]);

    // Group 1's invocations all failed: the workflow wrote down the error, and no listing of its accounts exists.
    await listAccounts(deps, { run: start.run, group: 0, accountIds: start.listings[0] });
    await listAccounts(deps, { run: start.run, group: 2, accountIds: start.listings[2] });
    await store.put(keys.listingFailure(start.run.runId, 1), 'Sandbox.Timedout: Task timed out after 900.00 seconds');
    const result = await writePlan(deps, start.run);

    const record = await getJson<PlanRecord>(store, keys.plan(start.run.runId));
    const byId = new Map(record.accounts.map((a) => [a.accountId, a]));
    expect(record.accounts.map((a) => a.accountId)).toEqual([...ids, '299999999999', '299999999998']);
    for (const id of start.listings[1]) {
      expect(byId.get(id)).toMatchObject({ status: 'failed', code: 'ListingFailed', message: 'the invocation that listed it failed: Sandbox.Timedout: Task timed out after 900.00 seconds' });
    }
    for (const id of [...start.listings[0], ...start.listings[2]]) expect(byId.get(id)!.status).toBe('audited');
    expect(byId.get('299999999999')).toMatchObject({ status: 'skipped', code: 'AccountSuspended' });
    expect(byId.get('299999999998')).toMatchObject({ status: 'skipped', code: 'AccountPendingClosure' });
    const audited = ACCOUNTS_PER_LISTING + 5;
    expect(new Set(record.batches.map((b) => b.accountId)).size).toBe(audited);
    expect(result.listed).toBe(audited * account.entities.filter((e) => !e.path.startsWith('/aws-service-role/')).length);
  });

  it('refuses a listing group that is not the one its start dealt', async () => {
    const account = loadAccount(generateSampleAccount({ entities: 3, seed: 'groups' }));
    emulator = await startEmulator({ account });
    const store = tempStore();
    const deps = planDeps(pipelineIam(emulator.url), store, new ScaledClock(1000), account.accountId);
    const start = await startPlan(deps, { input: {}, execution });
    await expect(listAccounts(deps, { run: start.run, group: 0, accountIds: ['210987654321'] })).rejects.toThrow(/accountIds: listing group 0 of run test-run is not the one its start dealt/);
    await expect(listAccounts(deps, { run: start.run, group: 1, accountIds: start.listings[0] })).rejects.toBeInstanceOf(InvalidInput);
  });
});

describe('Plan, for a large organization', () => {
  it('keeps what the workflow holds in its state under Step Functions\' 256 KiB for 10,000 accounts', async () => {
    const STATE_LIMIT = 256 * 1024;
    const ids = Array.from({ length: 10_000 }, (_, i) => String(100000000000 + i));
    const entity = (accountId: string): EntityRef => ({ arn: `arn:aws:iam::${accountId}:role/app`, type: 'role', name: 'app', path: '/', id: `AROA${accountId}` });
    const source: AccountSource = {
      accounts: async () => ids.map((accountId) => ({ accountId, name: `account ${accountId}`, status: 'ACTIVE' })),
      iam: async () => {
        throw new Error('not listed here: the listing files are written by the test');
      },
    };
    const store = memoryStore();
    const deps = { ...planDeps(pipelineIam('http://127.0.0.1:9'), store, new ScaledClock(1000), ids[0]), source };
    const start = await startPlan(deps, { input: {}, execution });
    // Each account's listing as its group's invocation would leave it: one role, audited.
    await Promise.all(
      ids.map((accountId) =>
        putJson(store, keys.listing(start.run.runId, accountId), { account: { accountId, name: null, status: 'audited', missingArns: [], iamCalls: noIamCalls() }, selected: [entity(accountId)] }),
      ),
    );
    const result = await writePlan(deps, start.run);
    expect(result.batches).toHaveLength(ids.length);
    expect(result.listed).toBe(ids.length);

    // The states "Plan the audit" and "Write the batches" keep, the listing Map's gathered outputs (each
    // group's number) and the batch Map's (each batch's id): all well within the limit.
    const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
    expect(bytes({ run: start.run, listings: start.listings })).toBeLessThan(STATE_LIMIT * 0.7);
    expect(bytes({ run: result.run, batches: result.batches, listed: result.listed })).toBeLessThan(STATE_LIMIT * 0.4);
    expect(bytes(start.listings.map((_, group) => group))).toBeLessThan(STATE_LIMIT * 0.01);
    // Whole descriptors, as the plan keeps them, would not have fitted.
    const record = await getJson<PlanRecord>(store, keys.plan(start.run.runId));
    expect(bytes(record.batches)).toBeGreaterThan(STATE_LIMIT * 4);
    const file = await batchFile(store, result.batches[ids.length - 1]);
    expect(file).toEqual({ batchId: result.batches[ids.length - 1], accountId: record.batches[ids.length - 1].accountId, peers: 1, entities: [entity(record.batches[ids.length - 1].accountId)] });
  }, 60_000);
});

describe('run ids', () => {
  it('keep plain execution names as they are', () => {
    expect(runIdOf('manual-20261125T030000Z-a1b2c3')).toBe('manual-20261125T030000Z-a1b2c3');
  });

  it('never give two execution names one run id, and are safe in keys and file names', () => {
    const names = ['run+1', 'run=1', 'run.1', 'run-1', 'run_1', 'run.2b1', 'run@1', 'run!1', "run'1", 'run(1)', 'rün-1', 'run 1', 'a'.repeat(80)];
    const ids = names.map(runIdOf);
    expect(new Set(ids).size).toBe(names.length);
    expect(ids[0]).toBe('run.2b1');
    expect(ids[1]).toBe('run.3d1');
    for (const id of ids) expect(id).toMatch(RUN_ID_PATTERN);
  });
});

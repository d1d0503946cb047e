import { generateSampleAccount, loadAccount, SERVICES, startEmulator, type EmulatorStats } from '../../local/emulator';

const asOf = new Date('2026-11-01T00:00:00Z');

describe('sample accounts', () => {
  it('are deterministic: the same seed gives the same bytes, another seed another account', () => {
    const a = JSON.stringify(generateSampleAccount({ entities: 500, seed: 42, asOf }));
    const b = JSON.stringify(generateSampleAccount({ entities: 500, seed: 42, asOf }));
    const c = JSON.stringify(generateSampleAccount({ entities: 500, seed: 43, asOf }));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('draw on a catalog of real service namespaces', () => {
    expect(SERVICES.length).toBeGreaterThanOrEqual(150);
    expect(SERVICES.find((s) => s.namespace === 's3')).toBeDefined();
    expect(new Set(SERVICES.map((s) => s.namespace)).size).toBe(SERVICES.length);
  });

  describe('a 10,000-entity account', () => {
    const file = generateSampleAccount({ entities: 10_000, seed: 7, asOf });
    const account = loadAccount(file, 'sample');

    it('has a realistic mix of users, groups, roles (some service-linked) and policies', () => {
      const count = (type: string) => account.entities.filter((e) => e.type === type).length;
      expect(account.entities).toHaveLength(10_000);
      expect(count('role')).toBeGreaterThan(count('user'));
      expect(count('user')).toBeGreaterThan(count('group'));
      expect(count('policy')).toBeGreaterThan(0);
      const serviceLinked = account.entities.filter((e) => e.path.startsWith('/aws-service-role/'));
      expect(serviceLinked.length).toBeGreaterThan(100);
      expect(serviceLinked.every((e) => e.type === 'role' && e.name.startsWith('AWSServiceRoleFor'))).toBe(true);
    });

    it('has identities granted more than 100 services, and many grants never used', () => {
      expect(account.entities.filter((e) => e.services.length > 100).length).toBeGreaterThanOrEqual(50);
      const grants = account.entities.flatMap((e) => e.services);
      const neverUsed = grants.filter((s) => !s.lastAuthenticated).length;
      expect(neverUsed / grants.length).toBeGreaterThan(0.5);
      expect(grants.every((s) => !s.lastAuthenticated || Date.parse(s.lastAuthenticated) < asOf.getTime())).toBe(true);
      expect(grants.every((s) => !s.lastAuthenticated || asOf.getTime() - Date.parse(s.lastAuthenticated) <= 400 * 86_400_000)).toBe(true);
    });

    it('has a few entities with each fault', () => {
      for (const fault of ['job-fails', 'deleted-before-generate', 'slow-job']) {
        const n = account.entities.filter((e) => e.fault === fault).length;
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThan(200);
      }
    });

    it('serves from an emulator', async () => {
      const emulator = await startEmulator({ account });
      try {
        const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as EmulatorStats;
        expect(stats.totals.calls).toBe(0);
      } finally {
        await emulator.close();
      }
    });
  });

  it('holds at least one fault of each kind and one admin-like identity from 30 entities up', () => {
    const account = loadAccount(generateSampleAccount({ entities: 30, seed: 1, asOf }));
    expect(new Set(account.entities.map((e) => e.fault).filter(Boolean))).toEqual(new Set(['job-fails', 'deleted-before-generate', 'slow-job']));
    expect(account.entities.some((e) => e.services.length > 100)).toBe(true);
  });

  it('can be empty', () => {
    expect(generateSampleAccount({ entities: 0, seed: 1, asOf }).entities).toEqual([]);
  });
});

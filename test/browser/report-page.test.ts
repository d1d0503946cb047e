/**
 * The HTML report in a real headless Chromium (the machine's own, driven by puppeteer-core): it loads
 * without a console error, no request leaves it, its four charts are drawn, filtering and sorting change
 * the identity table, and an identity opens to its services and proposals. A screenshot of each state is
 * kept under test-output/ for a person to look at. The 10,000-identity figures are `npm run bench:report`'s.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { launchChromium, openReport, watchedPage, type WatchedPage } from '../../local/browser';
import { renderReportPage } from '../../lambda/core/html/report-page';
import type { Changes } from '../../lambda/core/changes';
import type { RunSummary } from '../../lambda/core/model';
import { ReportDataBuilder, type DatedTemplates } from '../../lambda/core/report-data';
import { fabricatedPage, pageDataOf, PAGE_ACCOUNTS, type FabricatedPage } from '../helpers/report-page';
import { tempDir } from '../helpers/temp';

const SHOTS = join(__dirname, '..', '..', 'test-output');
/** axe-core, the accessibility engine: its rules (WCAG 2 A and AA, and best practices) run in the page. */
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Each accessibility rule the page breaks as it stands, with the first element that breaks it and how many do. */
async function accessibilityViolations(page: WatchedPage): Promise<string[]> {
  await page.page.evaluate(AXE);
  return page.page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const { violations } = await axe.run(document);
    return violations.map((v) => `${v.id}: ${v.nodes[0].target.join(' ')} (${v.nodes.length})`);
  });
}

describe('the HTML report in Chromium', () => {
  let browser: Browser;
  let fabricated: FabricatedPage;
  let watched: WatchedPage;
  const file = join(tempDir('report-page-'), 'report.html');

  const rowNames = () => watched.page.$$eval('#identity-body tr.row td.name', (cells) => cells.map((c) => c.textContent ?? ''));
  const setFilter = (text: string) =>
    watched.page.$eval(
      '#filter',
      (e, value) => {
        (e as HTMLInputElement).value = value;
        e.dispatchEvent(new Event('input'));
      },
      text,
    );
  const rowCount = () => watched.page.$eval('#row-count', (e) => e.textContent ?? '');
  /** Opens the page at `path` in a tab of its own, closed however `use` ends (a tab left open takes the focus from the others). */
  async function onPage<T>(path: string, use: (page: WatchedPage) => Promise<T>): Promise<T> {
    const page = await watchedPage(browser);
    try {
      await openReport(page, path);
      return await use(page);
    } finally {
      await page.page.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fabricated = fabricatedPage(640);
    writeFileSync(file, fabricated.html);
    browser = await launchChromium();
    watched = await watchedPage(browser);
    await openReport(watched, file);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('loads with no console error, and no request leaves the page', async () => {
    await watched.page.screenshot({ path: join(SHOTS, 'report-top.png') });
    expect(watched.errors).toEqual([]);
    expect(watched.requests).toEqual([]);
    const csp = await watched.page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.getAttribute('content'));
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
  });

  it('refuses what a page would try to fetch: the policy blocks it and the count shows it', async () => {
    await onPage(file, async (other) => {
      await other.page.evaluate(() => {
        const img = document.createElement('img');
        img.src = 'https://example.com/pixel.png';
        document.body.append(img);
      });
      await new Promise((r) => setTimeout(r, 300));
      // The Content-Security-Policy refuses it before it is sent, and says so on the console.
      expect(other.errors.join('\n')).toMatch(/Content Security Policy/);
      expect(other.requests).toEqual([]);
    });
  });

  it('draws its four charts with the run\'s numbers', async () => {
    const charts = await watched.page.evaluate(() => {
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { labels: unknown[]; datasets: Array<{ data: number[] }> } } | undefined } }).Chart;
      return ['chart-accounts', 'chart-worst', 'chart-failures', 'chart-trend'].map((id) => {
        const canvas = document.getElementById(id) as HTMLCanvasElement;
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        return { id, labels: chart?.data.labels.length ?? 0, sums: chart?.data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0)) ?? [], painted, width: canvas.width };
      });
    });
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(200);
      expect(c.painted).toBeGreaterThan(1000);
    }
    const [accounts, worst, failures, trend] = charts;
    expect(accounts.labels).toBe(PAGE_ACCOUNTS.length);
    expect(accounts.sums.reduce((a, b) => a + b, 0)).toBe(fabricated.summary.findings.unusedServiceGrants);
    expect(worst.labels).toBe(12);
    expect(failures.sums).toEqual([2]);
    expect(trend.labels).toBe(30);
  });

  it('tells runs of one day apart in the trend, and marks a run that did not complete', async () => {
    const trend = await watched.page.evaluate(() => {
      type TrendChart = {
        data: { labels: string[]; datasets: Array<{ pointStyle: string[] }> };
        options: { plugins: { tooltip: { callbacks: { title(items: Array<{ dataIndex: number }>): string } } } };
      };
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): TrendChart } }).Chart;
      const chart = Chart.getChart(document.getElementById('chart-trend') as HTMLCanvasElement);
      const title = (i: number) => chart.options.plugins.tooltip.callbacks.title([{ dataIndex: i }]);
      const card = document.getElementById('chart-trend')!.parentNode!.parentNode as HTMLElement;
      return { labels: chart.data.labels, styles: chart.data.datasets.map((d) => d.pointStyle), titles: [title(20), title(21)], note: card.textContent ?? '' };
    });
    const day = trend.labels[29].slice(0, 10);
    expect(trend.labels.slice(27)).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d$/), `${day} 02:00`, `${day} 14:30`]);
    expect(trend.labels.filter((l) => l.includes(' '))).toHaveLength(2);
    for (const styles of trend.styles) expect(styles.flatMap((s, i) => (s === 'triangle' ? [i] : []))).toEqual([20]);
    expect(trend.titles).toEqual(['audit-2026-10-21 (INCOMPLETE)', 'audit-2026-10-22']);
    expect(trend.note).toContain('A triangle marks a run that did not complete');
  });

  it('gives each chart its numbers as a table, for a screen reader and for copying', async () => {
    const tables = await watched.page.$$eval('.chart', (figures) =>
      figures.map((f) => ({
        chart: f.querySelector('canvas')!.id,
        summary: f.querySelector('details.chart-data summary')?.textContent ?? null,
        columns: Array.from(f.querySelectorAll('details.chart-data thead th')).map((th) => th.textContent),
        rows: Array.from(f.querySelectorAll('details.chart-data tbody tr')).map((tr) => Array.from(tr.children).map((cell) => cell.textContent)),
      })),
    );
    const [accounts, worst, failures, trend] = tables;
    expect(tables.map((t) => t.summary)).toEqual(['The numbers', 'The numbers', 'The numbers', 'The numbers']);
    expect(accounts.columns).toEqual(['', 'users', 'groups', 'roles', 'policies']);
    expect(accounts.rows.map((r) => r[0])).toEqual(PAGE_ACCOUNTS.map((a) => a.name));
    const total = accounts.rows.flatMap((r) => r.slice(1)).reduce((n, cell) => n + Number(cell!.replace(/,/g, '')), 0);
    expect(total).toBe(fabricated.summary.findings.unusedServiceGrants);
    expect(worst.rows).toHaveLength(12);
    expect(failures.rows).toEqual(fabricated.summary.failures.map((f) => [f.code, '1']));
    expect(trend.rows).toHaveLength(30);
    expect(trend.rows[20][0]).toMatch(/^\d{4}-\d\d-\d\d \(INCOMPLETE\)$/);
    expect(trend.rows.filter((r) => r[0]!.includes('INCOMPLETE'))).toHaveLength(1);
  });

  it('shows the key numbers and the changes since the last run', async () => {
    const numbers = await watched.page.$$eval('#numbers .card', (cards) => cards.map((c) => c.textContent ?? ''));
    expect(numbers[0]).toContain('642');
    expect(numbers.join(' ')).toContain(fabricated.summary.findings.unusedServiceGrants.toLocaleString('en-US'));
    const changes = await watched.page.$eval('#changes', (e) => e.textContent ?? '');
    expect(changes).toContain('1 first use of watched services');
    expect(changes).toContain('used iam');
    // Which identities came and went, by ARN.
    const listed = (id: string) => watched.page.$$eval(`#${id} li`, (lis) => lis.map((li) => li.textContent));
    expect(await listed('identities-added')).toEqual([fabricated.identities[fabricated.identities.length - 1].arn]);
    expect(await listed('identities-removed')).toEqual([`arn:aws:iam::${PAGE_ACCOUNTS[0].accountId}:user/leaver`]);
  });

  it('filters the table by name, type, account and unused services', async () => {
    expect(await rowCount()).toBe('640 identities · page 1 of 7');
    await watched.page.type('#filter', 'deploy-0001');
    const matching = fabricated.identities.filter((x) => x.arn.includes('deploy-0001')).length;
    expect(matching).toBeGreaterThan(1);
    expect(await rowCount()).toBe(`${matching} identities · page 1 of 1`);
    expect((await rowNames()).every((n) => n.startsWith('deploy-0001'))).toBe(true);
    await watched.page.screenshot({ path: join(SHOTS, 'report-filtered.png') });
    await setFilter('');
    await watched.page.select('#type-filter', '2');
    const roles = fabricated.identities.filter((x) => x.type === 'role').length;
    expect(await rowCount()).toBe(`${roles} identities · page 1 of ${Math.ceil(roles / 100)}`);
    const types = await watched.page.$$eval('#identity-body tr.row td:first-child', (cells) => cells.map((c) => c.textContent));
    expect(new Set(types)).toEqual(new Set(['role']));
    await watched.page.select('#account-filter', '1');
    const stagingRoles = fabricated.identities.filter((x) => x.type === 'role' && x.accountId === PAGE_ACCOUNTS[1].accountId).length;
    expect(await rowCount()).toBe(`${stagingRoles} identities · page 1 of ${Math.ceil(stagingRoles / 100)}`);
    await watched.page.select('#type-filter', '');
    await watched.page.select('#account-filter', '');
    await watched.page.click('#only-unused');
    expect(await rowCount()).toContain(`${fabricated.identities.filter((x) => x.unused > 0).length} identities`);
    await watched.page.click('#only-unused');
  });

  it('sorts by a column, and the other way on a second click', async () => {
    // Worst first by default.
    const unusedColumn = () => watched.page.$$eval('#identity-body tr.row td:nth-child(6)', (cells) => cells.map((c) => Number(c.textContent)));
    const initial = await unusedColumn();
    expect(initial[0]).toBe(Math.max(...fabricated.identities.map((x) => x.unused)));
    expect([...initial].sort((a, b) => b - a)).toEqual(initial);
    await watched.page.click('#identity-head th[data-key="2"]');
    const ascending = await rowNames();
    expect(ascending[0]).toBe([...fabricated.identities.map((x) => x.name)].sort()[0]);
    expect([...ascending].sort()).toEqual(ascending);
    await watched.page.click('#identity-head th[data-key="2"]');
    const descending = await rowNames();
    expect([...descending].sort().reverse()).toEqual(descending);
    expect(await watched.page.$eval('#identity-head th[data-key="2"]', (th) => th.getAttribute('aria-sort'))).toBe('descending');
  });

  it('sorts names as IAM compares them, without case', async () => {
    const names = ['Admins', 'alice', 'AWSReservedSSO_ReadOnly', 'bob', 'Zeta', 'build', 'aws-reader', 'Carol'];
    const mixedFile = join(tempDir('report-page-case-'), 'report.html');
    writeFileSync(mixedFile, fabricatedPage(names.length, { names }).html);
    await onPage(mixedFile, async (page) => {
      await page.page.click('#identity-head th[data-key="2"]');
      const sorted = await page.page.$$eval('#identity-body tr.row td.name', (cells) => cells.map((c) => c.textContent));
      expect(sorted).toEqual(['Admins', 'alice', 'aws-reader', 'AWSReservedSSO_ReadOnly', 'bob', 'build', 'Carol', 'Zeta']);
      expect(page.errors).toEqual([]);
    });
  });

  it('shows each identity under its own account, and sorts the accounts by what they show', async () => {
    // The data made with the accounts in the other order than the summary's: staging's place is 0.
    const reversed = fabricatedPage(16, { builderAccountsReversed: true });
    const reversedFile = join(tempDir('report-page-accounts-'), 'report.html');
    writeFileSync(reversedFile, reversed.html);
    await onPage(reversedFile, async (page) => {
      const label = new Map(PAGE_ACCOUNTS.map((a) => [a.accountId, a.name]));
      const rows = () => page.page.$$eval('#identity-body tr.row', (trs) => trs.map((tr) => ({ arn: tr.getAttribute('data-arn')!, account: tr.querySelector('td:nth-child(3)')!.textContent })));
      expect((await rows()).sort((a, b) => (a.arn < b.arn ? -1 : 1))).toEqual(reversed.identities.map((x) => ({ arn: x.arn, account: label.get(x.accountId) })).sort((a, b) => (a.arn < b.arn ? -1 : 1)));
      await page.page.click('#identity-head th[data-key="0"]');
      const accounts = (await rows()).map((r) => r.account);
      expect(accounts).toEqual([...accounts].sort());
      expect(accounts[0]).toBe('production');
      expect(page.errors).toEqual([]);
    });
  });

  it('marks an exempt identity as exempt in the proposals column, not as having nothing to propose', async () => {
    const [arn] = fabricated.exempt;
    expect(arn).toBeDefined();
    await watched.page.type('#filter', arn);
    const cells = await watched.page.$$eval('#identity-body tr.row', (rows) => rows.map((tr) => ({ arn: tr.getAttribute('data-arn'), proposals: tr.querySelector('td:nth-child(7)')?.textContent })));
    expect(cells).toEqual([{ arn, proposals: 'exempt' }]);
    await watched.page.$eval('#filter', (input) => {
      (input as HTMLInputElement).value = '';
      input.dispatchEvent(new Event('input'));
    });
    expect(await watched.page.$$eval('#identity-body tr.row', (rows) => rows.length)).toBe(100);
  });

  it('opens an identity to its services and proposals', async () => {
    // Worst first again: the first row holds unused services, and a proposal.
    await watched.page.click('#identity-head th[data-key="6"]');
    const arn = await watched.page.$eval('#identity-body tr.row', (tr) => tr.getAttribute('data-arn')!);
    const identity = fabricated.identities.find((x) => x.arn === arn)!;
    await watched.page.click('#identity-body tr.row');
    const detail = await watched.page.$eval('#identity-body tr.detail-row', (tr) => ({
      arn: tr.querySelector('.arn')?.textContent,
      services: tr.querySelectorAll('table.services tbody tr').length,
      unused: tr.querySelectorAll('table.services .pill.unused').length,
      rows: Array.from(tr.querySelectorAll('table.services tbody tr'), (row) => Array.from(row.querySelectorAll('td'), (td) => td.textContent).join(' ')),
      proposals: tr.querySelectorAll('ul.proposals li').length,
    }));
    expect(detail).toEqual({ arn, services: identity.granted, unused: identity.unused, rows: expect.any(Array), proposals: 1 });
    // Each service with its own last use: the page's compact cells decode to what the report said.
    expect([...detail.rows].sort()).toEqual([...identity.services].sort());
    await watched.page.screenshot({ path: join(SHOTS, 'report-identity.png') });
    await watched.page.click('#identity-body tr.row');
    expect(await watched.page.$('#identity-body tr.detail-row')).toBeNull();
    expect(watched.errors).toEqual([]);
    expect(watched.requests).toEqual([]);
  });

  it('sorts and opens an identity from the keyboard, and keeps the focus where it was', async () => {
    const focused = () => watched.page.evaluate(() => {
      const active = document.activeElement as HTMLElement;
      return { text: active.textContent, arn: active.closest('tr')?.getAttribute('data-arn') ?? null };
    });
    await watched.page.focus('#identity-head th[data-key="2"] button');
    await watched.page.keyboard.press('Enter');
    expect(await watched.page.$eval('#identity-head th[data-key="2"]', (th) => th.getAttribute('aria-sort'))).toBe('ascending');
    const names = await rowNames();
    expect([...names].sort()).toEqual(names);
    // Past the five sort buttons after Name, Tab comes to the first identity: Enter opens it, and the focus stays on it.
    for (let i = 0; i < 6; i++) await watched.page.keyboard.press('Tab');
    expect(await focused()).toEqual({ text: names[0], arn: expect.any(String) });
    const { arn } = await focused();
    await watched.page.keyboard.press('Enter');
    expect(await watched.page.$eval('#identity-body tr.detail-row .arn', (p) => p.textContent)).toBe(arn);
    expect(await watched.page.$eval('#identity-body tr.row.open button.open', (b) => b.getAttribute('aria-expanded'))).toBe('true');
    expect(await focused()).toEqual({ text: names[0], arn });
    await watched.page.keyboard.press(' ');
    expect(await watched.page.$('#identity-body tr.detail-row')).toBeNull();
    expect(await watched.page.$eval('#identity-body tr.row button.open', (b) => b.getAttribute('aria-expanded'))).toBe('false');
    expect(await focused()).toEqual({ text: names[0], arn });
    // The pager's button keeps the focus as the page turns.
    await watched.page.focus('#next-page');
    await watched.page.keyboard.press('Enter');
    expect(await rowCount()).toContain('page 2 of');
    expect(await watched.page.evaluate(() => document.activeElement?.id)).toBe('next-page');
    await watched.page.click('#prev-page');
    await watched.page.click('#identity-head th[data-key="6"]');
    expect(watched.errors).toEqual([]);
  });

  it('shows the first 200 identities without a report, says how many more, and all of them on asking', async () => {
    const failures = Array.from({ length: 250 }, (_, i) => ({ arn: `arn:aws:iam::${PAGE_ACCOUNTS[0].accountId}:role/timed-out-${String(i).padStart(3, '0')}`, code: 'JobTimedOut', message: 'still IN_PROGRESS after every poll' }));
    const many: RunSummary = { ...fabricated.summary, status: 'INCOMPLETE', failures };
    const manyFile = join(tempDir('report-page-failures-'), 'report.html');
    writeFileSync(manyFile, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary: many, proposals: null, changes: null, trend: [] })));
    await onPage(manyFile, async (page) => {
      const shown = () => page.page.$$eval('#failures tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
      expect(await shown()).toEqual(failures.slice(0, 200).map((f) => f.arn));
      expect(await page.page.$eval('#failures-more', (p) => p.textContent)).toBe('The first 200 of 250 are shown. Show all 250');
      await page.page.click('#show-all-failures');
      expect(await shown()).toEqual(failures.map((f) => f.arn));
      expect(await page.page.$('#failures-more')).toBeNull();
      expect(page.errors).toEqual([]);
    });
  });

  it('shows an organization of many accounts in a few rows, every account not audited among them, all on asking and in print; draws the 20 with the most unused grants', async () => {
    const organization = fabricatedPage(900, { accounts: 60, failedAccounts: [30, 59] });
    const orgFile = join(tempDir('report-page-org-'), 'report.html');
    writeFileSync(orgFile, organization.html);
    const { accounts } = organization.summary;
    const unusedIn = (accountId: string) => organization.identities.filter((x) => x.accountId === accountId).reduce((n, x) => n + x.unused, 0);
    await onPage(orgFile, async (page) => {
      const visible = () => page.page.$$eval('#accounts tbody tr', (rows) => rows.filter((r) => getComputedStyle(r).display !== 'none').map((r) => Array.from(r.children, (c) => c.textContent)));
      const row = (a: (typeof accounts)[number]) => [`${a.name} (${a.accountId})`, a.status, a.status === 'failed' ? `${a.code}${a.message}` : '', String(a.entities.listed), String(a.entities.reported), String(a.entities.failed), a.status === 'audited' ? unusedIn(a.accountId).toLocaleString('en-US') : ''];
      // The first ten audited accounts, then the two that could not be entered, in the summary's order.
      const firstShown = [...accounts.slice(0, 10), accounts[30], accounts[59]];
      expect(await visible()).toEqual(firstShown.map(row));
      expect(await page.page.$eval('#accounts-more', (p) => p.textContent)).toBe('12 of 60 accounts are shown, every one not audited among them. Show all 60');
      await page.page.emulateMediaType('print');
      expect(await visible()).toHaveLength(60);
      await page.page.emulateMediaType('screen');
      await page.page.click('#show-all-accounts');
      expect(await visible()).toEqual(accounts.map(row));
      expect(await page.page.$('#accounts-more')).toBeNull();

      const drawn = await page.page.evaluate(() => {
        const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { labels: string[]; datasets: Array<{ data: number[] }> } } | undefined } }).Chart;
        const chart = Chart.getChart(document.getElementById('chart-accounts') as HTMLCanvasElement)!;
        return chart.data.labels.map((label, i) => [label, chart.data.datasets.reduce((n, d) => n + d.data[i], 0)]);
      });
      const most = accounts.map((a) => [a.name, unusedIn(a.accountId)] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, 20);
      expect(drawn).toEqual(most);
      expect(await page.page.$eval('#chart-accounts', (c) => c.closest('.chart')!.querySelector('p.empty')!.textContent)).toBe(
        "The 20 of 60 accounts with the most unused grants, the most first; the Accounts table gives every account's.",
      );
      expect(page.errors).toEqual([]);
    });
  });

  it('rolls up the same identity in several accounts: the services used in no account, those used and where, and "not known" where an account has no report', async () => {
    const names: string[] = [];
    // Roles and policies (types follow the index) in staging (86, 87) and production (90, 91); a role in
    // staging whose namesake in production has no report (the page's failure role/failed-job).
    names[86] = names[90] = 'shared-deployer';
    names[87] = names[91] = 'shared-policy';
    names[14] = 'failed-job';
    // Propose's proposal for the deployer's template (its inline policy, the same in both accounts).
    const deployerDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: '*', Resource: '*' }] };
    const templates: DatedTemplates = {
      proposals: [{
        templateId: 't-00000000000000aa',
        target: { kind: 'inline-policy', policyName: 'shared-deployer-access', policyArn: null, identity: 'role/shared-deployer' },
        accounts: [],
        current: deployerDocument,
        action: 'trim',
        removedServices: ['dynamodb', 'ec2', 'iam', 'kms', 'lambda', 'sqs'],
        removedActions: [],
        keptServices: ['s3'],
        proposed: { ...deployerDocument, Statement: [{ ...deployerDocument.Statement[0], Action: 's3:*' }] },
        notes: [],
        // Made the same by the run before, as the page's proposals made so by two runs (see fabricatedPage).
        sameSince: { runId: 'audit-2026-11-24', startedAt: '2026-11-24T02:00:00.000Z', runs: 2 },
      }],
      notProposed: [],
    };
    const shared = fabricatedPage(120, { names, templates });
    const sharedFile = join(tempDir('report-page-shared-'), 'report.html');
    writeFileSync(sharedFile, shared.html);
    // What the fabricated reports say, service by service ("s3 12 days ago used"), gathered by type and name.
    const expected = (['shared-policy', 'shared-deployer', 'failed-job'] as const).map((name) => {
      const found = shared.identities.filter((x) => x.name === name);
      const services = new Map<string, number>();
      for (const x of found) for (const s of x.services) services.set(s.split(' ')[0], (services.get(s.split(' ')[0]) ?? 0) + (s.endsWith(' used') ? 1 : 0));
      const failed = shared.summary.failures.filter((f) => f.arn.endsWith(`:role/${name}`)).length;
      const usedInNone = [...services].filter(([, n]) => n === 0).length;
      return [found[0].type, name, failed ? `${found.length + failed}\n${failed} without a report` : String(found.length), failed ? 'not known' : String(usedInNone), String(services.size - usedInNone), String(found.reduce((n, x) => n + x.unused, 0))];
    });
    // Worked out by hand from the fabricated services (last used (i + 7k) % 200 days before; unused past 90).
    expect(expected).toEqual([
      ['policy', 'shared-policy', '2', '7', '1', '11'],
      ['role', 'shared-deployer', '2', '6', '1', '8'],
      ['role', 'failed-job', '2\n1 without a report', 'not known', '3', '0'],
    ]);
    await onPage(sharedFile, async (page) => {
      const rows = () => page.page.$$eval('#shared-table tbody tr.row', (trs) => trs.map((tr) => Array.from(tr.children, (td) => (td as HTMLElement).innerText)));
      const detail = () => page.page.$eval('#shared-table tr.detail-row', (tr) => (tr as HTMLElement).innerText);
      expect(await page.page.$eval('#shared h2', (h) => h.textContent)).toBe('The same identity in several accounts (3)');
      expect(await rows()).toEqual(expected);
      const note = await page.page.$eval('#shared p.note', (p) => p.textContent);
      expect(note).toContain('13 services in all');
      // Every account was audited: nothing to say of those that were not.
      expect(note).not.toContain('not audited');

      // Opened from the keyboard: its services, and each account it is in; the focus stays on it.
      await page.page.focus('#shared-table tr[data-resource="role/shared-deployer"] button.open');
      await page.page.keyboard.press('Enter');
      expect((await detail()).split('\n').filter(Boolean)).toEqual([
        'Used in no account (6): dynamodb, ec2, iam, kms, lambda, sqs',
        'Used (1): s3 in 2 of 2',
        'production (111111111111) · 6 unused services',
        'staging (222222222222) · 2 unused services',
        'Proposals for the template (1), cut by what no account used',
        'trim inline policy shared-deployer-access · removes 6 services',
        'The same in 2 runs in a row, the first started 2026-11-24 02:00 UTC.',
        'iam-access-audit proposals --shared --id t-00000000000000aa --format policy',
      ]);
      expect(await page.page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-resource'))).toBe('role/shared-deployer');
      // Open, its service lists (scrolled when long) and its template proposal break no accessibility rule.
      expect(await accessibilityViolations(page)).toEqual([]);
      // An account's link opens that identity in the table below, and the page's address names it.
      await page.page.click('#shared-table tr.detail-row ul.shared-accounts li:nth-child(2) button.link');
      const staging = 'arn:aws:iam::222222222222:role/shared-deployer';
      expect(await page.page.$eval('#filter', (e) => (e as HTMLInputElement).value)).toBe(staging);
      expect(await page.page.$$eval('#identity-body tr.row.open', (trs) => trs.map((tr) => tr.getAttribute('data-arn')))).toEqual([staging]);
      expect(await page.page.evaluate(() => decodeURIComponent(location.hash))).toBe(`#identity=${staging}`);

      // Where an account has no report, nothing is said to be used in no account.
      await page.page.click('#shared-table tr[data-resource="role/failed-job"] button.open');
      expect((await detail()).split('\n').filter(Boolean)).toEqual([
        'Used in no account with a report, 1 of 2 (0): none',
        'Used (3): ec2 in 1 of 1, iam in 1 of 1, s3 in 1 of 1',
        'staging (222222222222) · 0 unused services',
        'production (111111111111) · no report: JobFailed.ServiceFailure',
      ]);
      // One row is open at a time, and a second click closes it.
      expect(await page.page.$$eval('#shared-table tr.row.open', (trs) => trs.map((tr) => tr.getAttribute('data-resource')))).toEqual(['role/failed-job']);
      expect(await page.page.$$('#shared-table tr.detail-row')).toHaveLength(1);
      await page.page.click('#shared-table tr[data-resource="role/failed-job"] button.open');
      expect(await page.page.$$('#shared-table tr.detail-row')).toHaveLength(0);
      expect(await page.page.$eval('#shared-table tr[data-resource="role/failed-job"] button.open', (b) => b.getAttribute('aria-expanded'))).toBe('false');
      expect(page.errors).toEqual([]);
    });
    // A page whose names are all its own has no such section.
    expect(await watched.page.$eval('#shared', (section) => section.children.length)).toBe(0);
  });

  it('shows the first 25 identities in several accounts, says how many more (in print too), and all of them on asking', async () => {
    const names: string[] = [];
    // Identity i is in the first account when (i / 4) is even, and i + 4, of the same type, in the second.
    for (let i = 0; i < 240; i++) if (Math.floor(i / 4) % 2 === 0) names[i] = names[i + 4] = `shared-${String(i).padStart(3, '0')}`;
    // Three accounts, the third not entered: the identities are in the other two.
    const many = fabricatedPage(240, { names, accounts: 3, failedAccounts: [2] });
    const manyFile = join(tempDir('report-page-shared-many-'), 'report.html');
    writeFileSync(manyFile, many.html);
    await onPage(manyFile, async (page) => {
      const visible = () => page.page.$$eval('#shared-table tbody tr.row', (trs) => trs.filter((tr) => getComputedStyle(tr).display !== 'none').length);
      expect(await visible()).toBe(25);
      expect(await page.page.$eval('#shared-more', (p) => p.textContent)).toBe('The first 25 of 120 are shown. Show all 120');
      expect(await page.page.$eval('#shared p.note', (p) => p.textContent)).toContain('Accounts not audited are not counted.');
      await page.page.emulateMediaType('print');
      expect(await visible()).toBe(25);
      expect(await page.page.$eval('#shared-more', (p) => getComputedStyle(p).display)).not.toBe('none');
      await page.page.emulateMediaType('screen');
      await page.page.click('#show-all-shared');
      expect(await visible()).toBe(120);
      expect(await page.page.$('#shared-more')).toBeNull();
      expect(page.errors).toEqual([]);
    });
  });

  it('names the first 20 first uses of watched services and 50 identities added, and says how many more', async () => {
    const watchedUses = Array.from({ length: 23 }, (_, i) => ({
      arn: `arn:aws:iam::${PAGE_ACCOUNTS[0].accountId}:role/bot-${String(i).padStart(2, '0')}`,
      serviceNamespace: 'iam',
      change: 'first-use' as const,
      lastAuthenticated: '2026-11-24T10:00:00.000Z',
      previousLastAuthenticated: null,
    }));
    const added = Array.from({ length: 55 }, (_, i) => `arn:aws:iam::${PAGE_ACCOUNTS[0].accountId}:user/new-${String(i).padStart(2, '0')}`);
    const changes: Changes = { schemaVersion: 1, runId: fabricated.summary.runId, previousRunId: 'audit-2026-11-24', identities: { added, removed: [] }, services: watchedUses, watched: watchedUses };
    // The compared run started three days and a bit before, and did not audit the second account.
    const previousStartedAt = new Date(Date.parse(fabricated.summary.startedAt) - 3 * 86_400_000 - 3_600_000).toISOString();
    const comparedWith = { startedAt: previousStartedAt, notCompared: [{ accountId: PAGE_ACCOUNTS[1].accountId, reason: 'not-audited' as const }] };
    const changedFile = join(tempDir('report-page-watched-'), 'report.html');
    writeFileSync(changedFile, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary: fabricated.summary, proposals: null, changes, comparedWith, trend: [] })));
    await onPage(changedFile, async (page) => {
      const compared = await page.page.$eval('#changes > p', (e) => e.textContent ?? '');
      expect(compared).toMatch(new RegExp(`^Compared with run audit-2026-11-24, which started ${previousStartedAt.slice(0, 16).replace('T', ' ')} UTC, 3 days before this one: 55 identities added`));
      expect(await page.page.$eval('#not-compared', (e) => e.textContent)).toBe('Not audited in that run, so not compared: staging (222222222222). Its identities are counted neither added nor removed.');
      const items = await page.page.$$eval('#changes .alert-box li', (lis) => lis.map((li) => li.textContent));
      expect(items).toEqual([...watchedUses.slice(0, 20).map((w) => `${w.arn} used iam (2026-11-24)`), 'and 3 more: changes.json lists them all']);
      expect(await page.page.$eval('#changes .alert-box strong', (e) => e.textContent)).toBe('23 first uses of watched services');
      expect(await page.page.$eval('#identities-added h3', (e) => e.textContent)).toBe('Added (55)');
      expect(await page.page.$$eval('#identities-added li', (lis) => lis.map((li) => li.textContent))).toEqual([...added.slice(0, 50), 'and 5 more: changes.json lists them all']);
      expect(await page.page.$('#identities-removed')).toBeNull();
      expect(page.errors).toEqual([]);
    });
    // Tonight the second account could not be entered: it is not compared either, and says why.
    const [first, second] = fabricated.summary.accounts;
    const failedTonight = { ...fabricated.summary, accounts: [first, { ...second, status: 'failed' as const, code: 'AccessDenied' }] };
    const failedFile = join(tempDir('report-page-failed-tonight-'), 'report.html');
    const notNow = { startedAt: previousStartedAt, notCompared: [{ accountId: second.accountId, reason: 'not-audited-now' as const }] };
    writeFileSync(failedFile, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary: failedTonight, proposals: null, changes, comparedWith: notNow, trend: [] })));
    await onPage(failedFile, async (page) => {
      expect(await page.page.$eval('#not-compared', (e) => e.textContent)).toBe('Not audited in this run, so not compared: staging (222222222222). Its identities are counted neither added nor removed.');
      expect(page.errors).toEqual([]);
    });
  });

  it('links to an identity: the address names the one open, and a link opens it', async () => {
    const target = fabricated.identities[2];
    await onPage(`${file}#identity=${encodeURIComponent(target.arn)}`, async (linked) => {
      expect(await linked.page.$eval('#identity-body tr.detail-row .arn', (p) => p.textContent)).toBe(target.arn);
      expect(await linked.page.$eval('#filter', (input) => (input as HTMLInputElement).value)).toBe(target.arn);
      expect(await linked.page.$eval('#row-count', (e) => e.textContent)).toBe('1 identity · page 1 of 1');
      // Closing it takes it out of the address; opening another puts that one in.
      await linked.page.click('#identity-body tr.row');
      expect(await linked.page.evaluate(() => location.hash)).toBe('');
      await linked.page.click('#identity-body tr.row');
      expect(await linked.page.evaluate(() => decodeURIComponent(location.hash))).toBe(`#identity=${target.arn}`);
      expect(linked.errors).toEqual([]);
      expect(linked.requests).toEqual([]);
    });
    // A link to an identity without a report says so, and why; a link to one the run does not hold, too.
    const [failure] = fabricated.summary.failures;
    const missing = (arn: string) =>
      onPage(`${file}#identity=${encodeURIComponent(arn)}`, async (other) => {
        const said = await other.page.$eval('#link-missing', (p) => p.textContent);
        expect(await other.page.$('#identity-body tr.detail-row')).toBeNull();
        expect(other.errors).toEqual([]);
        return said;
      });
    expect(await missing(failure.arn)).toBe(`The identity this link points at, ${failure.arn}, has no report in this run (${failure.code}): it is among the identities without a report, below.`);
    expect(await missing('arn:aws:iam::111111111111:role/gone')).toBe('The identity this link points at, arn:aws:iam::111111111111:role/gone, has no report in this run.');
  });

  it("says a proposal that removes one service in the singular, the tracked actions a trim removes, and why a review is one", async () => {
    // The fabricated page proposes for the first third of the users, roles and policies holding unused services.
    const proposed = fabricated.identities.filter((x) => x.type !== 'group' && x.unused > 0).slice(0, Math.ceil(fabricated.identities.length / 3));
    const one = proposed.find((x, i) => x.unused === 1 && i % 7 !== 3)!;
    expect(one).toBeDefined();
    await onPage(`${file}#identity=${encodeURIComponent(one.arn)}`, async (page) => {
      const proposal = await page.page.$eval('#identity-body tr.detail-row ul.proposals li', (li) => li.textContent ?? '');
      expect(proposal).toContain(' · removes 1 service');
      expect(proposal).not.toContain('1 services');
    });
    // A trim that also removes tracked actions of the services it keeps says both.
    const index = proposed.findIndex((x, i) => i % 4 === 1 && i % 7 !== 3 && x.unused < x.granted);
    const both = proposed[index];
    await onPage(`${file}#identity=${encodeURIComponent(both.arn)}`, async (page) => {
      const proposal = await page.page.$eval('#identity-body tr.detail-row ul.proposals li', (li) => li.textContent ?? '');
      expect(proposal).toContain(` · removes ${both.unused} service${both.unused === 1 ? '' : 's'} and 3 actions`);
    });
    // A review takes nothing away: it says what its policy grants unused, and why it is a review.
    const reviewed = proposed[3];
    await onPage(`${file}#identity=${encodeURIComponent(reviewed.arn)}`, async (page) => {
      const [text, note] = await page.page.$eval('#identity-body tr.detail-row ul.proposals li', (li) => [li.textContent ?? '', li.querySelector('.note')?.textContent ?? '']);
      expect(text.startsWith('review ')).toBe(true);
      expect(text).toContain(` · ${reviewed.unused} service${reviewed.unused === 1 ? '' : 's'} unused, for review`);
      expect(text).not.toContain('removes');
      expect(note).toBe('IAM Identity Center made this role for permission set Set3, and IAM refuses changes to it');
      expect(page.errors).toEqual([]);
    });
  });

  it('breaks no accessibility rule axe-core checks, with an identity open: contrast, names of headers and regions, scrolled parts reachable from the keyboard', async () => {
    const proposed = fabricated.identities.filter((x) => x.type !== 'group' && x.unused > 0)[2];
    await onPage(`${file}#identity=${encodeURIComponent(proposed.arn)}`, async (page) => {
      expect(await page.page.$('#identity-body tr.detail-row .scroll')).not.toBeNull();
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(page.errors).toEqual([]);
    });
  });

  it('says how many runs in a row made a proposal the same, and of a new one that the next run should', async () => {
    // The fabricated page's i-th proposal was made the same by 1 + i % 3 runs, the first of them started 2026-11-(25 - i % 3) 02:00.
    const proposed = fabricated.identities.filter((x) => x.type !== 'group' && x.unused > 0).slice(0, Math.ceil(fabricated.identities.length / 3));
    const said = async (i: number) =>
      onPage(`${file}#identity=${encodeURIComponent(proposed[i].arn)}`, async (page) => {
        const same = await page.page.$eval('#identity-body tr.detail-row ul.proposals li', (li) => li.querySelector('.same')?.textContent ?? null);
        expect(page.errors).toEqual([]);
        return same;
      });
    expect(await said(2)).toBe('The same in 3 runs in a row, the first started 2026-11-23 02:00 UTC.');
    expect(await said(1)).toBe('The same in 2 runs in a row, the first started 2026-11-24 02:00 UTC.');
    expect(await said(0)).toBe('New or changed since the run before, audit-2026-11-24: the safer to apply once the next run makes it the same.');
    // A review proposes no change: when it was first made says nothing of what to apply.
    expect(await said(3)).toBeNull();
    // The proposals card counts those the run before made the same: every one made by 2 or 3 runs in a row.
    const again = proposed.filter((_, i) => i % 3 !== 0).length;
    await onPage(file, async (page) => {
      const notes = await page.page.$$eval('#numbers .card', (cards) => Array.from(cards.find((c) => c.querySelector('.label')?.textContent === 'proposals')!.querySelectorAll('.note'), (n) => n.textContent));
      expect(notes).toEqual([
        expect.stringMatching(/^\d+ trim · \d+ remove · 0 replace · \d+ review$/),
        `${again} made the same by the run before`,
        'actions cut over the action catalogue of 2026-09-26, 60 days before this run',
      ]);
    });
  });

  it('prints without its controls, and keeps a card or chart on one sheet', async () => {
    await onPage(file, async (printed) => {
      await printed.page.emulateMediaType('print');
      const shown = (selector: string) => printed.page.$eval(selector, (e) => getComputedStyle(e).display !== 'none');
      expect(await shown('#filter')).toBe(false);
      expect(await shown('#next-page')).toBe(false);
      expect(await shown('#row-count')).toBe(true);
      expect(await printed.page.$eval('.chart', (e) => getComputedStyle(e).breakInside)).toBe('avoid');
      await printed.page.emulateMediaType('screen');
      expect(await shown('#filter')).toBe(true);
    });
  });

  it('gives the identities of another partition their own ARNs, and finds their proposals by them', async () => {
    const gov = fabricatedPage(48, { partition: 'aws-us-gov' });
    const govFile = join(tempDir('report-page-gov-'), 'report.html');
    writeFileSync(govFile, gov.html);
    await onPage(govFile, async (other) => {
      const rows = await other.page.$$eval('#identity-body tr.row', (trs) => trs.map((tr) => ({ arn: tr.getAttribute('data-arn'), proposals: tr.querySelector('td:nth-child(7)')?.textContent })));
      expect(rows.map((r) => r.arn).sort()).toEqual(gov.identities.map((x) => x.arn).sort());
      expect(rows.every((r) => r.arn!.startsWith('arn:aws-us-gov:iam::'))).toBe(true);
      // The page's proposals are keyed by the reports' own ARNs: an ARN made in the wrong partition finds none.
      expect(rows.filter((r) => r.proposals === 'exempt')).toHaveLength(gov.exempt.length);
      expect(gov.summary.proposals.count).toBeGreaterThan(0);
      expect(rows.reduce((sum, r) => sum + (Number(r.proposals) || 0), 0)).toBe(gov.summary.proposals.count);
      expect(other.errors).toEqual([]);
    });
  });

  it('says plainly that a run whose accounts all failed reported nothing: no unknown window, no "0 of 0"', async () => {
    const failed: RunSummary = {
      ...fabricated.summary,
      status: 'INCOMPLETE',
      accounts: PAGE_ACCOUNTS.map((a) => ({ ...a, status: 'failed' as const, code: 'AccessDenied', message: 'not authorized to perform sts:AssumeRole', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } })),
      entities: { listed: 0, reported: 0, skipped: 0, failed: 0, byType: { user: 0, group: 0, role: 0, policy: 0 } },
      failures: [],
      findings: { entitiesWithUnusedServices: 0, unusedServiceGrants: 0, entitiesWithNoUseInWindow: 0 },
      proposals: { count: 0, byAction: { trim: 0, remove: 0, replace: 0, review: 0 } },
      changes: null,
    };
    const emptyFile = join(tempDir('report-page-empty-'), 'report.html');
    writeFileSync(emptyFile, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary: failed, proposals: null, changes: null, trend: [{ runId: failed.runId, runDate: failed.runDate, startedAt: failed.startedAt, status: 'INCOMPLETE', unusedServiceGrants: 0, failed: 0, listed: 0 }] })));
    await onPage(emptyFile, async (empty) => {
      const header = await empty.page.$eval('#header', (e) => (e as HTMLElement).innerText);
      expect(header).toContain('INCOMPLETE');
      expect(header).toContain('2 accounts could not be audited. No identity was listed.');
      expect(header).not.toContain('?');
      expect(header).not.toContain('"unused" means');
      // Each account says what it failed with, beside its code.
      const codes = await empty.page.$$eval('#accounts tbody tr td:nth-child(3)', (tds) => tds.map((td) => (td as HTMLElement).innerText));
      expect(codes).toEqual(PAGE_ACCOUNTS.map(() => 'AccessDenied\nnot authorized to perform sts:AssumeRole'));
      const notes = await empty.page.$$eval('p.empty', (ps) => ps.map((p) => p.textContent));
      expect(notes).toContain('No reported identity holds an unused service.');
      expect(await empty.page.$$eval('#identity-body tr.row', (trs) => trs.length)).toBe(0);
      await empty.page.screenshot({ path: join(SHOTS, 'report-empty.png') });
      expect(empty.errors).toEqual([]);
    });
  });

  it('says a run whose Propose did not run to its end made no proposals, not that it had none to make', async () => {
    const noIndex = join(tempDir('report-page-no-proposals-'), 'report.html');
    const summary: RunSummary = { ...fabricated.summary, proposals: { count: 0, byAction: { trim: 0, remove: 0, replace: 0, review: 0 } } };
    const trend = [{ runId: summary.runId, runDate: summary.runDate, startedAt: summary.startedAt, status: summary.status, unusedServiceGrants: 0, failed: 0, listed: 0 }];
    writeFileSync(noIndex, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary, proposals: null, changes: null, trend })));
    await onPage(noIndex, async (page) => {
      const cards = await page.page.$$eval('#numbers .card', (cs) => cs.map((c) => (c as HTMLElement).innerText.replace(/\n+/g, ' | ')));
      expect(cards).toContain('— | proposals | none made: Propose did not run to its end');
      await page.page.screenshot({ path: join(SHOTS, 'report-no-proposals.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });
      expect(page.errors).toEqual([]);
    });
  });

  it('shows accounts whose names look like HTML as text, and keeps its data whole', async () => {
    // Organizations takes any printable ASCII in an account's name.
    const names = ['<!-- prod', '</script><script>document.title="pwned"</script> & <b>staging</b>'];
    const hostile = fabricatedPage(12, { accountNames: names, failedAccounts: [1] });
    expect(pageDataOf(hostile.html).accounts.map((a) => a.name)).toEqual(names);
    const file = join(tempDir('report-page-names-'), 'report.html');
    writeFileSync(file, hostile.html);
    await onPage(file, async (page) => {
      expect(await page.page.title()).not.toBe('pwned');
      expect(await page.page.$$eval('script', (scripts) => scripts.length)).toBe(3);
      const shown = await page.page.$$eval('#accounts tbody tr td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
      for (const name of names) expect(shown.some((cell) => cell.includes(name))).toBe(true);
      expect(await page.page.$$eval('#identity-body tr.row', (trs) => trs.length)).toBeGreaterThan(0);
      await (await page.page.$('#accounts'))!.screenshot({ path: join(SHOTS, 'report-account-names.png') });
      expect(page.errors).toEqual([]);
    });
  });

  it('counts one of a thing in the singular', async () => {
    const [failedAccount, audited] = fabricated.summary.accounts;
    const one: RunSummary = {
      ...fabricated.summary,
      status: 'INCOMPLETE',
      accounts: [{ ...failedAccount, status: 'failed', code: 'AccessDenied', message: 'not authorized to perform sts:AssumeRole' }, audited],
      findings: { ...fabricated.summary.findings, entitiesWithUnusedServices: 1 },
    };
    const file = join(tempDir('report-page-one-'), 'report.html');
    writeFileSync(file, renderReportPage(new ReportDataBuilder(PAGE_ACCOUNTS.map((a) => a.accountId)).build({ summary: one, proposals: null, changes: null, trend: [] })));
    await onPage(file, async (page) => {
      expect(await page.page.$eval('#header', (e) => (e as HTMLElement).innerText)).toContain('1 account could not be audited.');
      expect(await page.page.$eval('#numbers', (e) => (e as HTMLElement).innerText)).toContain('1 identity holds some');
      expect(page.errors).toEqual([]);
    });
  });
});

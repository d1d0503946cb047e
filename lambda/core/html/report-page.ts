/**
 * Assembles a run's report.html: one self-contained file. The data is one JSON object inlined in the
 * page; Chart.js (MIT) and the page's script are inlined beside it; a Content-Security-Policy lets the
 * page load and send nothing (no request leaves it). Chart.js because it draws the bar and line charts
 * the report needs from one small, widely used, well-kept script with no dependencies of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReportData } from '../report-data';
import { CLIENT_SCRIPT } from './client';

/** Nothing may be fetched, framed or sent: scripts and styles are inline, images only data: URLs. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'";

export const CHART_FILE = 'chart.umd.min.js';

let chartSource: string | undefined;

/** Chart.js's browser build: beside the bundled handler in Lambda, from the package otherwise. */
export function chartJs(): string {
  if (chartSource === undefined) {
    const bundled = join(__dirname, CHART_FILE);
    chartSource = readFileSync(existsSync(bundled) ? bundled : join(dirname(require.resolve('chart.js')), CHART_FILE), 'utf8');
  }
  return chartSource;
}

/** Inline script text must not close its own element. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * JSON for a data script element: every `<` written `\u003c`, which JSON reads back the same and no HTML
 * parser takes for a tag or a comment. (scriptSafe's `<\!--` is JavaScript, not JSON: JSON.parse refuses
 * it, and an account named "<!-- ..." would have left the page with no data at all.)
 */
function jsonScriptText(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; --accent: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 17px; margin: 28px 0 10px; }
h3 { font-size: 14px; margin: 0 0 6px; }
.title-row { display: flex; align-items: center; gap: 12px; }
.meta { color: var(--muted); margin: 6px 0 2px; }
.why { margin: 2px 0 0; }
.badge { font-weight: 700; font-size: 12px; letter-spacing: .04em; padding: 3px 10px; border-radius: 999px; color: #fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
#numbers { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card .value { font-size: 26px; font-weight: 700; }
.card .label { font-weight: 600; }
.card .note { color: var(--muted); font-size: 12px; margin-top: 2px; }
.card.warn .value { color: var(--warn); } .card.alert { border-color: var(--bad); } .card.alert .value { color: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.chart .canvas { position: relative; height: 260px; }
.chart .empty { margin: 6px 0 0; font-size: 12px; }
.chart-data { margin-top: 6px; font-size: 12px; }
.chart-data summary { cursor: pointer; color: var(--muted); }
.chart-data table { margin-top: 6px; width: 100%; }
.chart-data th[scope=row] { text-transform: none; letter-spacing: normal; font-size: 12px; font-weight: 500; color: var(--ink); background: none; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #475569; background: #f1f5f9; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.plain { border: 1px solid var(--line); border-radius: 8px; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable button.sort, td.name button.open { all: inherit; display: inline; padding: 0; border: 0; background: none; cursor: pointer; }
th.sortable button.sort:focus-visible, td.name button.open:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
p.service-list { max-height: 7.5em; overflow: auto; margin: 0 0 8px; }
ul.shared-accounts { margin: 4px 0 0; padding-left: 18px; }
ul.shared-accounts button.link { all: unset; color: var(--accent); text-decoration: underline; cursor: pointer; }
ul.shared-accounts button.link:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
th.sorted { color: var(--accent); }
th.sorted[aria-sort=ascending]::after { content: " ▲"; } th.sorted[aria-sort=descending]::after { content: " ▼"; }
tr.row { cursor: pointer; } tr.row:hover { background: #eff6ff; } tr.row.open { background: #dbeafe; }
td.name { font-weight: 600; word-break: break-all; }
td.hot { color: var(--bad); font-weight: 700; }
td.exempt { color: var(--muted); font-style: italic; }
.detail { padding: 6px 2px 10px; }
.detail .arn { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; color: var(--muted); margin: 0 0 8px; word-break: break-all; }
.detail-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px; }
.detail .scroll { max-height: 320px; overflow: auto; border: 1px solid var(--line); border-radius: 8px; }
.detail .scroll table { border: 0; }
ul.proposals { list-style: none; padding: 0; margin: 0; } ul.proposals li { padding: 4px 0; border-bottom: 1px solid var(--line); }
ul.proposals code { display: block; color: var(--muted); font-size: 11px; }
.pill { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: #e2e8f0; }
.pill.unused, .pill.remove, .pill.failed, .pill.newly-unused { background: #fee2e2; color: #991b1b; }
.pill.used, .pill.audited, .pill.first-use { background: #dcfce7; color: #166534; }
.pill.trim, .pill.replace, .pill.granted { background: #dbeafe; color: #1e3a8a; }
.pill.review, .pill.skipped, .pill.revoked { background: #fef3c7; color: #92400e; }
#controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 8px 0 10px; }
#controls input[type=search] { flex: 1 1 280px; padding: 7px 10px; border: 1px solid #cbd5e1; border-radius: 8px; font: inherit; }
#controls select { padding: 6px 8px; border: 1px solid #cbd5e1; border-radius: 8px; font: inherit; background: #fff; }
#pager { display: flex; gap: 12px; align-items: center; justify-content: flex-end; margin-top: 10px; color: var(--muted); }
#pager button, #failures-more button, #accounts-more button, #shared-more button { font: inherit; padding: 5px 12px; border: 1px solid #cbd5e1; border-radius: 8px; background: #fff; cursor: pointer; }
#shared p.note code { white-space: nowrap; }
#shared .templates { margin-top: 10px; }
#pager button:disabled { opacity: .4; cursor: default; }
.alert-box { border: 1px solid #fecaca; background: #fef2f2; border-radius: 10px; padding: 10px 14px; margin-bottom: 10px; }
.alert-box ul { margin: 6px 0 0; padding-left: 18px; }
.identity-changes { margin: 0 0 10px; } .identity-changes ul { margin: 4px 0 0; padding-left: 18px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.identity-changes li.note { font-family: inherit; }
.empty, .note, .same { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; }
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  #controls input, #controls select, #controls label, #pager button, #failures-more button, #accounts-more, #shared-more button { display: none; }
  #accounts tr[hidden] { display: table-row; }
  p.service-list { max-height: none; overflow: visible; }
  .card, .chart, tr, .alert-box, .identity-changes { break-inside: avoid; }
  .chart-data:not([open]) { display: none; }
  h2, h3 { break-after: avoid; }
  tr.row:hover { background: none; }
}
`;

export function renderReportPage(data: ReportData): string {
  const title = `IAM access audit · ${data.run.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header id="header"></header>
<section id="numbers" aria-label="Key numbers"></section>
<section id="accounts"></section>
<h2>Where the unused grants are</h2>
<section class="charts">
<figure class="chart"><h3>Unused grants by account and type</h3><div class="canvas"><canvas id="chart-accounts" role="img" aria-label="Unused grants by account and type"></canvas></div></figure>
<figure class="chart"><h3>Identities with the most unused services</h3><div class="canvas"><canvas id="chart-worst" role="img" aria-label="Worst identities"></canvas></div></figure>
<figure class="chart"><h3>Identities without a report, by code</h3><div class="canvas"><canvas id="chart-failures" role="img" aria-label="Failures by code"></canvas></div></figure>
<figure class="chart"><h3>${data.trend.length === 1 ? 'This run' : `The last ${data.trend.length} runs`}</h3><div class="canvas"><canvas id="chart-trend" role="img" aria-label="Trend of unused grants and failures"></canvas></div></figure>
</section>
<section id="changes"></section>
<section id="shared"></section>
<h2>Identities</h2>
<div id="controls"></div>
<table id="identities"><thead id="identity-head"></thead><tbody id="identity-body"></tbody></table>
<div id="pager"></div>
<section id="failures"></section>
<footer>Generated by iam-access-audit from run ${escapeHtml(data.run.runId)} (completed ${escapeHtml(data.run.completedAt)}). Self-contained: this page loads and sends nothing.</footer>
</main>
<script type="application/json" id="report-data">${jsonScriptText(data)}</script>
<script>${scriptSafe(chartJs())}</script>
<script>${scriptSafe(CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}

/**
 * The report page's script, as the page inlines it: it boots from the inlined data and renders each part
 * of the page with a small function of its own (header, key numbers, accounts, charts, changes, the
 * identity table and an identity's details). Charts are Chart.js's, inlined beside it.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var TYPES = ['user', 'group', 'role', 'policy'];
  var PLURALS = ['users', 'groups', 'roles', 'policies'];
  var COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea'];
  var PAGE = 100;
  var FAILURES_SHOWN = 200;
  // An organization of many accounts: the accounts table shows this many rows until asked for all (every
  // account not audited among them), and the chart of unused grants draws this many accounts, the most first.
  var ACCOUNTS_SHOWN = 12;
  var ACCOUNTS_DRAWN = 20;
  var el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  };
  var fmt = function (n) { return Number(n).toLocaleString('en-US'); };
  var count = function (n, one, many) { return fmt(n) + ' ' + (n === 1 ? one : many); };
  // What a proposal takes away, after its policy's name. A review takes nothing away: its counts are what
  // the policy grants unused, said as that (nothing when there is none).
  var removes = function (services, actions, action) {
    var parts = (services ? [count(services, 'service', 'services')] : []).concat(actions ? [count(actions, 'action', 'actions')] : []);
    if (!parts.length) return '';
    return action === 'review' ? ' · ' + parts.join(' and ') + ' unused, for review' : ' · removes ' + parts.join(' and ');
  };
  // How many runs in a row made a proposal the same (runs before they were counted say nothing). IAM
  // shows a use some hours late: a change the next run makes the same is the safer one to apply.
  var madeSame = function (runs, action) {
    if (runs === null || action === 'review') return null;
    if (runs > 1) return el('div', { class: 'same', text: 'The same in ' + runs + ' runs in a row, the first started ' + data.sameSince[runs].slice(0, 16).replace('T', ' ') + ' UTC.' });
    return data.proposalsBefore ? el('div', { class: 'same', text: 'New or changed since the run before, ' + data.proposalsBefore + ': the safer to apply once the next run makes it the same.' }) : null;
  };
  var accountOf = function (row) { return data.accounts[row[0]] || { accountId: '?', name: null }; };
  var arnOf = function (row) { return 'arn:' + data.partition + ':iam::' + accountOf(row).accountId + ':' + TYPES[row[1]] + row[3] + row[2]; };
  var ago = function (days) { return days < 0 ? 'never' : days === 0 ? 'today' : days === 1 ? 'yesterday' : days + ' days ago'; };
  var accountLabel = function (a) { return a.name ? a.name + ' (' + a.accountId + ')' : a.accountId; };
  // An account by its id, as the accounts table names it (an id the run does not hold, alone).
  var labelOf = function (id) { return accountLabel(data.accounts.filter(function (a) { return a.accountId === id; })[0] || { accountId: id, name: null }); };
  // An identity's account as its cell shows it (and sorts it): the name, else the id.
  var accountText = function (row) { return accountOf(row).name || accountOf(row).accountId; };
  // How long before the later time the earlier one was, in the largest unit that is at least 2 (or minutes).
  var between = function (earlier, later) {
    var minutes = Math.max(0, Math.round((Date.parse(later) - Date.parse(earlier)) / 60000));
    if (minutes >= 2 * 1440) return fmt(Math.floor(minutes / 1440)) + ' days';
    if (minutes >= 120) return Math.floor(minutes / 60) + ' hours';
    return minutes === 0 ? 'less than a minute' : count(minutes, 'minute', 'minutes');
  };
  // The last item of a list cut short.
  var moreItem = function (n) { return el('li', { class: 'note', text: 'and ' + fmt(n) + ' more: changes.json lists them all' }); };

  function renderHeader() {
    var run = data.run;
    var failedAccounts = data.accounts.filter(function (a) { return a.status === 'failed'; });
    var why = run.status === 'COMPLETED' ? 'Every account audited; failures within the threshold.' :
      (failedAccounts.length ? count(failedAccounts.length, 'account', 'accounts') + ' could not be audited. ' : '') +
      (data.entities.listed ? fmt(data.entities.failed) + ' of ' + fmt(data.entities.listed) + ' identities have no report.' : 'No identity was listed.');
    document.getElementById('header').append(
      el('div', { class: 'title-row' }, [
        el('h1', { text: 'IAM access audit' }),
        el('span', { class: 'badge ' + (run.status === 'COMPLETED' ? 'ok' : 'bad'), id: 'run-status', text: run.status })
      ]),
      // The window is read from the reports: a run without any has none to state.
      el('p', { class: 'meta', text: 'Run ' + run.runId + ' · ' + run.runDate + ' · ' + run.granularity + (run.unusedAfterDays ? ' · "unused" means not used in the ' + run.unusedAfterDays + ' days before each report' : '') }),
      el('p', { class: 'why', text: why })
    );
  }

  // A card's note is a line, or several.
  function card(label, value, note, cls) {
    var notes = (Array.isArray(note) ? note : [note]).filter(Boolean).map(function (n) { return el('div', { class: 'note', text: n }); });
    return el('div', { class: 'card ' + (cls || '') }, [el('div', { class: 'value', text: value }), el('div', { class: 'label', text: label })].concat(notes));
  }

  // The proposals the run before made the same (runs in a row of two or more), of every identity.
  function madeAgain() {
    var n = 0;
    for (var arn in data.proposals) data.proposals[arn].forEach(function (p) { if (p[7] !== null && p[7] > 1) n++; });
    return n;
  }

  function renderNumbers() {
    var e = data.entities, f = data.findings, p = data.proposalCounts, c = data.changes;
    document.getElementById('numbers').append(
      card('identities listed', fmt(e.listed), fmt(e.reported) + ' reported · ' + fmt(e.skipped) + ' skipped'),
      card('without a report', fmt(e.failed), 'never counted as unused', e.failed ? 'warn' : ''),
      card('unused grants', fmt(f.unusedServiceGrants), count(f.entitiesWithUnusedServices, 'identity holds some', 'identities hold some')),
      card('used nothing', fmt(f.entitiesWithNoUseInWindow), 'identities with no use in the window'),
      // A run whose Propose did not run to its end made none: its count of 0 is not "nothing to propose".
      data.proposalsMade ? card('proposals', fmt(p.count), [
        ['trim', 'remove', 'replace', 'review'].map(function (a) { return fmt(p.byAction[a]) + ' ' + a; }).join(' · '),
        data.proposalsBefore ? fmt(madeAgain()) + ' made the same by the run before' : null,
        // Single actions cut: an action AWS added after the catalogue's data is allowed only under a kept prefix.
        data.catalogLag ? 'actions cut over the action catalogue of ' + data.catalogLag.date + ', ' + count(data.catalogLag.days, 'day', 'days') + ' before this run' : null
      ]) : card('proposals', '—', 'none made: Propose did not run to its end', 'warn'),
      card('since the last run', c ? count(c.counts['first-use'], 'first use', 'first uses') : '—', c ? fmt(c.counts['newly-unused']) + ' newly unused · ' + c.added + ' added · ' + c.removed + ' removed' : 'no earlier complete run', c && c.watched.length ? 'alert' : '')
    );
  }

  var unusedOf = function (u) { return u.byType.reduce(function (a, b) { return a + b; }, 0); };

  function renderAccounts() {
    if (data.accounts.length <= 1 && data.accounts.every(function (a) { return a.status === 'audited'; })) return;
    var unused = {};
    data.unusedByAccount.forEach(function (u) { unused[u.accountId] = unusedOf(u); });
    var rows = data.accounts.map(function (a) {
      return el('tr', { class: a.status }, [el('td', { text: accountLabel(a) }), el('td', {}, [el('span', { class: 'pill ' + a.status, text: a.status })]), el('td', {}, [a.code || '', a.status === 'failed' && a.message ? el('div', { class: 'note', text: a.message }) : null]),
        el('td', { class: 'num', text: fmt(a.entities.listed) }), el('td', { class: 'num', text: fmt(a.entities.reported) }), el('td', { class: 'num', text: fmt(a.entities.failed) }),
        el('td', { class: 'num', text: a.status === 'audited' ? fmt(unused[a.accountId] || 0) : '' })]);
    });
    var box = document.getElementById('accounts');
    box.append(el('h2', { text: 'Accounts' }), el('table', { class: 'plain' }, [
      el('thead', {}, [el('tr', {}, ['Account', 'Status', 'Code', 'Listed', 'Reported', 'Failed', 'Unused grants'].map(function (h, i) { return el('th', { text: h, class: i >= 3 ? 'num' : '' }); }))]),
      el('tbody', {}, rows)
    ]));
    // Many accounts: every one not audited, and the first audited ones up to ACCOUNTS_SHOWN rows, in the
    // summary's order; the others on asking (and in print), so that the charts are not pages away.
    var room = ACCOUNTS_SHOWN - data.accounts.filter(function (a) { return a.status !== 'audited'; }).length;
    var hidden = rows.filter(function (row, i) { return data.accounts[i].status === 'audited' && room-- <= 0; });
    if (!hidden.length) return;
    hidden.forEach(function (row) { row.hidden = true; });
    var more = el('p', { id: 'accounts-more', class: 'note' }, [fmt(rows.length - hidden.length) + ' of ' + fmt(rows.length) + ' accounts are shown, every one not audited among them. ']);
    var all = el('button', { type: 'button', id: 'show-all-accounts', text: 'Show all ' + fmt(rows.length) });
    all.addEventListener('click', function () {
      hidden.forEach(function (row) { row.hidden = false; });
      more.remove();
    });
    more.append(all);
    box.append(more);
  }

  // rowLabel: what the table of the numbers calls the i-th point; by default, the chart's label.
  function chart(id, config, rowLabel) {
    var canvas = document.getElementById(id);
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } }, config.options || {});
    var made = new Chart(canvas, config);
    // The numbers drawn, as a table under the chart: a screen reader cannot read a canvas, and a reader
    // may want to copy them.
    var d = config.data;
    if (d.labels.length) {
      canvas.parentNode.parentNode.append(el('details', { class: 'chart-data' }, [
        el('summary', { text: 'The numbers' }),
        el('table', { class: 'plain' }, [
          el('thead', {}, [el('tr', {}, [el('th', { text: '' })].concat(d.datasets.map(function (set) { return el('th', { class: 'num', text: set.label }); })))]),
          el('tbody', {}, d.labels.map(function (label, i) {
            return el('tr', {}, [el('th', { scope: 'row', text: rowLabel ? rowLabel(i) : label })].concat(d.datasets.map(function (set) { return el('td', { class: 'num', text: fmt(set.data[i]) }); })));
          }))
        ])
      ]));
    }
    return made;
  }

  function renderCharts() {
    // More accounts than a chart can name: those with the most unused grants, the most first.
    var drawn = data.unusedByAccount.length <= ACCOUNTS_DRAWN ? data.unusedByAccount
      : data.unusedByAccount.slice().sort(function (a, b) { return unusedOf(b) - unusedOf(a); }).slice(0, ACCOUNTS_DRAWN);
    chart('chart-accounts', {
      type: 'bar',
      data: {
        labels: drawn.map(function (a) { return a.name || a.accountId; }),
        datasets: TYPES.map(function (t, i) { return { label: PLURALS[i], data: drawn.map(function (a) { return a.byType[i]; }), backgroundColor: COLORS[i], stack: 'u' }; })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'unused grants' } } } }
    });
    var worst = data.identities.map(function (r, i) { return i; }).sort(function (a, b) { return data.identities[b][6] - data.identities[a][6]; }).slice(0, 12);
    chart('chart-worst', {
      type: 'bar',
      data: { labels: worst.map(function (i) { return TYPES[data.identities[i][1]] + ' ' + data.identities[i][2]; }), datasets: [{ label: 'unused services', data: worst.map(function (i) { return data.identities[i][6]; }), backgroundColor: '#dc2626' }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { y: { ticks: { autoSkip: false } }, x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'unused services' } } } }
    });
    chart('chart-failures', {
      type: 'bar',
      data: { labels: data.failuresByCode.map(function (f) { return f[0]; }), datasets: [{ label: 'identities without a report', data: data.failuresByCode.map(function (f) { return f[1]; }), backgroundColor: '#d97706' }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    // Runs of one day are told apart by the time they started (UTC, as runDate is); a run that did not
    // complete is drawn as a triangle: its numbers count only what it audited, and fewer unused grants
    // there is not progress.
    var trendLabels = data.trend.map(function (t) {
      var sameDay = data.trend.filter(function (u) { return u.runDate === t.runDate; }).length > 1;
      return sameDay ? t.runDate + ' ' + t.startedAt.slice(11, 16) : t.runDate;
    });
    var trendPoints = data.trend.map(function (t) { return t.status === 'COMPLETED' ? 'circle' : 'triangle'; });
    var trendRadii = data.trend.map(function (t) { return t.status === 'COMPLETED' ? 3 : 6; });
    var trendLine = function (label, value, color, axis) {
      return { label: label, data: data.trend.map(value), borderColor: color, backgroundColor: color, yAxisID: axis, pointStyle: trendPoints, pointRadius: trendRadii };
    };
    chart('chart-trend', {
      type: 'line',
      data: {
        labels: trendLabels,
        datasets: [
          trendLine('unused grants', function (t) { return t.unusedServiceGrants; }, '#2563eb', 'y'),
          trendLine('identities without a report', function (t) { return t.failed; }, '#d97706', 'y1')
        ]
      },
      options: {
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { title: function (items) { var t = data.trend[items[0].dataIndex]; return t.runId + (t.status === 'COMPLETED' ? '' : ' (' + t.status + ')'); } } }
        },
        scales: { y: { position: 'left', beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'unused grants' } }, y1: { position: 'right', beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false }, title: { display: true, text: 'without a report' } } } }
    }, function (i) { var t = data.trend[i]; return trendLabels[i] + (t.status === 'COMPLETED' ? '' : ' (' + t.status + ')'); });
    var emptyNote = function (id, text) { document.getElementById(id).parentNode.parentNode.append(el('p', { class: 'empty', text: text })); };
    if (!worst.some(function (i) { return data.identities[i][6] > 0; })) emptyNote('chart-worst', 'No reported identity holds an unused service.');
    if (data.trend.length < 2) emptyNote('chart-trend', 'The trend starts with this run: later runs add to it.');
    if (trendPoints.indexOf('triangle') >= 0) emptyNote('chart-trend', 'A triangle marks a run that did not complete: its numbers count only the accounts and identities it audited.');
    if (!data.failuresByCode.length) emptyNote('chart-failures', 'Every listed identity was reported or skipped.');
    if (drawn.length < data.unusedByAccount.length) emptyNote('chart-accounts', 'The ' + fmt(drawn.length) + ' of ' + fmt(data.unusedByAccount.length) + ' accounts with the most unused grants, the most first; the Accounts table gives every account\'s.');
  }

  function renderChanges() {
    var box = document.getElementById('changes');
    var c = data.changes;
    box.append(el('h2', { text: 'Since the last complete run' }));
    if (!c) { box.append(el('p', { class: 'empty', text: 'No earlier complete run to compare with.' })); return; }
    if (c.watched.length) {
      box.append(el('div', { class: 'alert-box' }, [el('strong', { text: count(c.watched.length, 'first use', 'first uses') + ' of watched services' }), el('ul', {}, c.watched.slice(0, 20).map(function (w) { return el('li', { text: w.arn + ' used ' + w.serviceNamespace + ' (' + (w.lastAuthenticated || '').slice(0, 10) + ')' }); }).concat(c.watched.length > 20 ? [moreItem(c.watched.length - 20)] : []))]));
    }
    box.append(el('p', { text: 'Compared with run ' + c.previousRunId + (c.previousStartedAt ? ', which started ' + c.previousStartedAt.slice(0, 16).replace('T', ' ') + ' UTC, ' + between(c.previousStartedAt, data.run.startedAt) + ' before this one' : '') + ': ' + count(c.added, 'identity', 'identities') + ' added, ' + fmt(c.removed) + ' removed; ' + count(c.counts['first-use'], 'service', 'services') + ' used for the first time, ' + fmt(c.counts['newly-unused']) + ' newly unused, ' + fmt(c.counts.granted) + ' granted, ' + fmt(c.counts.revoked) + ' revoked.' + (c.shown.length > 200 ? ' The first 200 are shown; changes.json has them all.' : '') }));
    // An account one of the runs did not audit (or whose reports in the other could not be read) is not
    // compared: its identities are neither added nor removed, which the reader must be told.
    if (c.notCompared.length) {
      var why = [['not-audited-now', 'Not audited in this run'], ['not-audited', 'Not audited in that run'], ['unreadable', 'Reports in that run unreadable']].map(function (reason) {
        var labels = c.notCompared.filter(function (n) { return n.reason === reason[0]; }).map(function (n) { return labelOf(n.accountId); });
        return labels.length ? reason[1] + ', so not compared: ' + labels.join(', ') + '.' : null;
      }).filter(function (sentence) { return sentence; });
      box.append(el('p', { class: 'note', id: 'not-compared', text: why.join(' ') + ' ' + (c.notCompared.length === 1 ? 'Its identities are' : 'Their identities are') + ' counted neither added nor removed.' }));
    }
    // Which identities came and went, not only how many: a new role is often the change worth reading.
    [['Added', c.addedSample, c.added], ['Removed', c.removedSample, c.removed]].forEach(function (list) {
      if (!list[2]) return;
      var items = list[1].map(function (arn) { return el('li', { text: arn }); });
      if (list[2] > list[1].length) items.push(moreItem(list[2] - list[1].length));
      box.append(el('div', { class: 'identity-changes', id: 'identities-' + list[0].toLowerCase() }, [el('h3', { text: list[0] + ' (' + fmt(list[2]) + ')' }), el('ul', {}, items)]));
    });
    if (!c.shown.length) return;
    box.append(el('table', { class: 'plain' }, [
      el('thead', {}, [el('tr', {}, ['Identity', 'Service', 'Change', 'Last used', 'Before'].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, c.shown.slice(0, 200).map(function (s) {
        return el('tr', {}, [el('td', { text: s.arn }), el('td', { text: s.serviceNamespace }), el('td', {}, [el('span', { class: 'pill ' + s.change, text: s.change })]), el('td', { text: (s.lastAuthenticated || 'never').slice(0, 10) }), el('td', { text: (s.previousLastAuthenticated || 'never').slice(0, 10) })]);
      }))
    ]));
  }

  // The same identity (type, path and name) in several accounts (data.shared, counted by Summarize): an
  // organization makes such roles and policies from one template (a StackSet) and cuts them there. A
  // service no account used can leave the template; what an identity used in an account where it has no
  // report is not known, and so is which of its services no account used.
  var SHARED_SHOWN = 25;
  // A row of data.shared (SharedRow in report-data.ts), by name.
  function sharedGroup(s, i) {
    return { type: s[0], path: s[1], name: s[2], rows: s[3], failed: s[4].map(function (f) { return data.failures[f]; }), count: s[5], known: s[4].length === 0, usedInNone: s[6], usedInSome: s[7], unusedGrants: s[8], resource: TYPES[s[0]] + s[1] + s[2], templates: templatesOf[i] || [] };
  }
  // The template proposals (data.templates, from Propose) of each row of data.shared.
  var templatesOf = {};
  data.templates.forEach(function (t) { (templatesOf[t[0]] = templatesOf[t[0]] || []).push(t); });
  var KIND_WORDS = { 'inline-policy': 'inline policy', 'managed-policy': 'managed policy', 'aws-managed-attachment': 'AWS managed policy' };
  // A group's services, when it opens: those used in no account by name, and those used with the number of accounts.
  function sharedServices(g) {
    var usedIn = {}, granted = [];
    g.rows.forEach(function (i) {
      var flat = data.identityServices[i];
      for (var k = 0; k < flat.length; k += 3) {
        if (!(flat[k] in usedIn)) { usedIn[flat[k]] = 0; granted.push(flat[k]); }
        if (flat[k + 2] === 0) usedIn[flat[k]]++;
      }
    });
    // The page's services are sorted by name, so their indexes are too.
    granted.sort(function (a, b) { return a - b; });
    return {
      unused: granted.filter(function (s) { return usedIn[s] === 0; }),
      used: granted.filter(function (s) { return usedIn[s] > 0; }).map(function (s) { return [s, usedIn[s]]; }).sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; })
    };
  }

  // The table shows one identity, open: its ARN in the filter.
  function selectIdentity(i) {
    state.filter = arnOf(data.identities[i]);
    document.getElementById('filter').value = state.filter;
    state.open = i;
    state.page = 0;
  }
  // Opens an identity in the table below, as a link to it would.
  function openIdentity(i) {
    selectIdentity(i);
    linkTo(i);
    renderRows();
    var row = document.querySelector('#identity-body tr.row.open');
    if (row) row.scrollIntoView({ block: 'center' });
  }

  function sharedDetail(g) {
    var reported = g.rows.map(function (i) {
      var open = el('button', { type: 'button', class: 'link', text: accountLabel(accountOf(data.identities[i])) });
      open.addEventListener('click', function (event) { event.stopPropagation(); openIdentity(i); });
      return el('li', {}, [open, ' · ' + count(data.identities[i][6], 'unused service', 'unused services')]);
    });
    var failed = g.failed.map(function (f) { return el('li', {}, [labelOf(f.arn.split(':')[4]) + ' · no report: ' + f.code]); });
    var services = sharedServices(g), unused = services.unused, used = services.used;
    var reportedIn = g.rows.length;
    return el('div', { class: 'detail' }, [
      el('p', { class: 'service-list', tabindex: '0' }, [el('strong', { text: (g.known ? 'Used in no account' : 'Used in no account with a report, ' + fmt(reportedIn) + ' of ' + fmt(g.count)) + ' (' + fmt(unused.length) + '): ' }), unused.length ? unused.map(function (s) { return data.services[s]; }).join(', ') : 'none']),
      el('p', { class: 'service-list', tabindex: '0' }, [el('strong', { text: 'Used (' + fmt(used.length) + '): ' }), used.length ? used.map(function (u) { return data.services[u[0]] + ' in ' + fmt(u[1]) + ' of ' + fmt(reportedIn); }).join(', ') : 'none']),
      el('ul', { class: 'shared-accounts' }, reported.concat(failed)),
      g.templates.length ? el('div', { class: 'templates' }, [
        el('strong', { text: 'Proposals for the template (' + fmt(g.templates.length) + '), cut by what no account used' }),
        el('ul', { class: 'proposals' }, g.templates.map(function (t) {
          return el('li', {}, [t[2] + ' ' + (KIND_WORDS[t[3]] || t[3]) + ' ' + t[4] + removes(t[5], t[6], t[2]), madeSame(t[7], t[2]), el('code', { text: 'iam-access-audit proposals --shared --id ' + t[1] + (t[2] === 'remove' ? '' : ' --format policy') })]);
        }))
      ]) : null
    ]);
  }

  function renderShared() {
    if (!data.shared.length) return;
    var groups = data.shared.map(sharedGroup);
    var box = document.getElementById('shared');
    var body = el('tbody', {});
    // A row opens to its detail in place, and closes: the rows stay, and so does the keyboard's focus.
    var row = function (g) {
      var button = el('button', { type: 'button', class: 'open', 'aria-expanded': 'false', text: g.path.slice(1) + g.name });
      var tr = el('tr', { class: 'row', 'data-resource': g.resource }, [
        el('td', { text: TYPES[g.type] || '' }), el('td', { class: 'name' }, [button]),
        el('td', { class: 'num' }, [fmt(g.count), g.failed.length ? el('div', { class: 'note', text: fmt(g.failed.length) + ' without a report' }) : null]),
        g.known ? el('td', { class: 'num' + (g.usedInNone ? ' hot' : ''), text: fmt(g.usedInNone) }) : el('td', { class: 'num exempt', text: 'not known', title: 'It has no report in ' + count(g.failed.length, 'account', 'accounts') + ': what it used there is not known.' }),
        el('td', { class: 'num', text: fmt(g.usedInSome) }), el('td', { class: 'num', text: fmt(g.unusedGrants) })
      ]);
      tr.addEventListener('click', function () {
        var opened = tr.nextSibling && tr.nextSibling.classList.contains('detail-row');
        var other = body.querySelector('tr.row.open');
        if (other) {
          other.classList.remove('open');
          other.querySelector('button.open').setAttribute('aria-expanded', 'false');
          other.nextSibling.remove();
        }
        if (opened) return;
        tr.classList.add('open');
        button.setAttribute('aria-expanded', 'true');
        tr.after(el('tr', { class: 'detail-row' }, [el('td', { colspan: '6' }, [sharedDetail(g)])]));
      });
      return tr;
    };
    // Rows are made for the groups shown only: an organization may have thousands.
    var shown = Math.min(groups.length, SHARED_SHOWN);
    groups.slice(0, shown).forEach(function (g) { body.append(row(g)); });
    var total = groups.reduce(function (sum, g) { return sum + (g.known ? g.usedInNone : 0); }, 0);
    var notAudited = data.accounts.some(function (a) { return a.status !== 'audited'; });
    box.append(el('h2', { text: 'The same identity in several accounts (' + fmt(groups.length) + ')' }),
      el('p', { class: 'note' }, ['Identities of one type, path and name in more than one account, as a template (a StackSet) makes them, with the services they are granted somewhere and used in no account: ' + count(total, 'service', 'services') + ' in all. Where an identity has no report in some account, what it used there is not known, and so is what it used in no account.' + (notAudited ? ' Accounts not audited are not counted.' : '') + ' In a terminal: ',
        el('code', { text: 'iam-access-audit report --shared' }), '; a proposal for each of their policies, cut by what no account used: ', el('code', { text: 'iam-access-audit proposals --shared' }), '.']),
      el('table', { class: 'plain', id: 'shared-table' }, [
        el('thead', {}, [el('tr', {}, ['Type', 'Name', 'Accounts', 'Used in no account', 'Used in some account', 'Unused grants'].map(function (h, i) { return el('th', { text: h, class: i >= 2 ? 'num' : '' }); }))]),
        body
      ]));
    if (shown === groups.length) return;
    var more = el('p', { id: 'shared-more', class: 'note' }, ['The first ' + fmt(shown) + ' of ' + fmt(groups.length) + ' are shown. ']);
    var all = el('button', { type: 'button', id: 'show-all-shared', text: 'Show all ' + fmt(groups.length) });
    all.addEventListener('click', function () {
      groups.slice(shown).forEach(function (g) { body.append(row(g)); });
      more.remove();
    });
    more.append(all);
    box.append(more);
  }

  var state = { sort: 6, dir: -1, page: 0, filter: '', type: '', account: '', onlyUnused: false, open: -1 };
  var COLUMNS = [['Type', 1], ['Name', 2], ['Account', 0], ['Granted', 4], ['Used', 5], ['Unused', 6], ['Proposals', -1]];

  function visibleRows() {
    var q = state.filter.toLowerCase();
    var rows = [];
    for (var i = 0; i < data.identities.length; i++) {
      var r = data.identities[i];
      if (state.type !== '' && String(r[1]) !== state.type) continue;
      if (state.account !== '' && String(r[0]) !== state.account) continue;
      if (state.onlyUnused && r[6] === 0) continue;
      if (q && arnOf(r).toLowerCase().indexOf(q) < 0) continue;
      rows.push(i);
    }
    var key = state.sort;
    var order = function (x, y) { return x < y ? -1 : x > y ? 1 : 0; };
    rows.sort(function (a, b) {
      return order(sortValue(a, key), sortValue(b, key)) * state.dir || order(sortValue(a, 2), sortValue(b, 2)) || order(arnOf(data.identities[a]), arnOf(data.identities[b]));
    });
    return rows;
  }
  // Names as IAM compares them, without case; an account by what its cell shows, not by its place in the data.
  function sortValue(i, key) {
    var r = data.identities[i];
    if (key < 0) return proposalCount(i);
    if (key === 0) return accountText(r).toLowerCase();
    if (key === 2) return r[2].toLowerCase();
    return r[key];
  }
  function proposalCount(i) { return (data.proposals[arnOf(data.identities[i])] || []).length; }
  // An exempt identity with unused services says so, rather than a bare 0 that reads as "nothing to cut".
  function proposalCell(i) {
    var exempt = data.exempt[arnOf(data.identities[i])];
    var count = proposalCount(i);
    if (exempt && count === 0) return el('td', { class: 'num exempt', text: 'exempt', title: exempt });
    return el('td', { class: 'num', text: fmt(count) });
  }

  function renderTableControls() {
    var controls = document.getElementById('controls');
    var search = el('input', { type: 'search', id: 'filter', placeholder: 'Filter by name or ARN', 'aria-label': 'Filter identities' });
    search.addEventListener('input', function () { state.filter = search.value; state.page = 0; renderRows(); });
    var type = el('select', { id: 'type-filter', 'aria-label': 'Type' }, [el('option', { value: '', text: 'All types' })].concat(TYPES.map(function (t, i) { return el('option', { value: String(i), text: PLURALS[i] }); })));
    type.addEventListener('change', function () { state.type = type.value; state.page = 0; renderRows(); });
    var account = el('select', { id: 'account-filter', 'aria-label': 'Account' }, [el('option', { value: '', text: 'All accounts' })].concat(data.accounts.map(function (a, i) { return el('option', { value: String(i), text: accountLabel(a) }); })));
    account.addEventListener('change', function () { state.account = account.value; state.page = 0; renderRows(); });
    var unused = el('input', { type: 'checkbox', id: 'only-unused' });
    unused.addEventListener('change', function () { state.onlyUnused = unused.checked; state.page = 0; renderRows(); });
    controls.append(search, type);
    if (data.accounts.length > 1) controls.append(account);
    controls.append(el('label', {}, [unused, ' only with unused services']));
    var head = document.getElementById('identity-head');
    head.append(el('tr', {}, COLUMNS.map(function (c) {
      // A button inside, so the keyboard sorts as the mouse does (its click bubbles to the header).
      var th = el('th', { 'data-key': String(c[1]), class: 'sortable' + (c[1] >= 4 || c[1] < 0 ? ' num' : '') }, [el('button', { type: 'button', class: 'sort', text: c[0] })]);
      th.addEventListener('click', function () { state.dir = state.sort === c[1] ? -state.dir : (c[1] <= 2 && c[1] >= 0 ? 1 : -1); state.sort = c[1]; state.page = 0; renderRows(); });
      return th;
    })));
  }

  // An open identity is in the page's address (#identity=<ARN>), so a link to the page can point at it:
  // the address is the page's own, a file or a presigned link, and the part after # is never sent.
  function linkTo(i) {
    if (!window.history || !history.replaceState) return;
    var url = location.href.split('#')[0] + (i >= 0 ? '#identity=' + encodeURIComponent(arnOf(data.identities[i])) : '');
    try { history.replaceState(null, '', url); } catch (e) { /* a page opened where history cannot change stays as it is */ }
  }
  function openLinkedIdentity() {
    var match = /^#identity=(.+)$/.exec(location.hash);
    if (!match) return;
    var arn;
    try { arn = decodeURIComponent(match[1]); } catch (e) { arn = match[1]; }
    var found = -1;
    for (var i = 0; i < data.identities.length && found < 0; i++) if (arnOf(data.identities[i]) === arn) found = i;
    if (found < 0) {
      var failure = data.failures.filter(function (f) { return f.arn === arn; })[0];
      var why = failure ? ' (' + failure.code + '): it is among the identities without a report, below.' : '.';
      document.getElementById('controls').after(el('p', { id: 'link-missing', class: 'note', text: 'The identity this link points at, ' + arn + ', has no report in this run' + why }));
      return;
    }
    selectIdentity(found);
  }
  function showLinkedIdentity() {
    var row = document.querySelector('#identity-body tr.row.open') || document.getElementById('link-missing');
    if (row && location.hash) row.scrollIntoView({ block: 'center' });
  }

  function details(i) {
    var r = data.identities[i];
    // Used services first (the short list worth reading), most recent first; then the unused ones.
    var flat = data.identityServices[i], cells = [];
    // Three numbers a service (CELL_WIDTH in report-data.ts): its index, days since last used, unused.
    for (var k = 0; k < flat.length; k += 3) cells.push([flat[k], flat[k + 1], flat[k + 2]]);
    cells.sort(function (a, b) { return a[2] - b[2] || (a[1] < 0) - (b[1] < 0) || a[1] - b[1] || (data.services[a[0]] < data.services[b[0]] ? -1 : 1); });
    var services = el('table', { class: 'plain services' }, [
      el('thead', {}, [el('tr', {}, ['Service', 'Last used', 'Status'].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, cells.map(function (s) { return el('tr', {}, [el('td', { text: data.services[s[0]] }), el('td', { text: ago(s[1]) }), el('td', {}, [s[2] ? el('span', { class: 'pill unused', text: 'unused' }) : el('span', { class: 'pill used', text: 'used' })])]); }))
    ]);
    var proposals = data.proposals[arnOf(r)] || [];
    var exempt = data.exempt[arnOf(r)];
    var none = !data.proposalsMade ? 'None: this run made no proposals (Propose did not run to its end; its log says why).' : exempt ? 'None: ' + exempt + '.' : 'Nothing to propose.';
    return el('div', { class: 'detail' }, [
      el('p', { class: 'arn', text: arnOf(r) }),
      el('div', { class: 'detail-grid' }, [
        el('div', {}, [el('h3', { text: 'Services (' + cells.length + ': ' + (cells.length - r[6]) + ' used, ' + r[6] + ' unused)' }), cells.length ? el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Services of ' + r[2] }, [services]) : el('p', { class: 'empty', text: 'Its policies grant no service.' })]),
        el('div', {}, [el('h3', { text: 'Proposals (' + proposals.length + ')' }), proposals.length ? el('ul', { class: 'proposals' }, proposals.map(function (p) {
          // A review says why (runs before 2026-12-07 did not keep the reason with the index: the command says it).
          return el('li', {}, [el('span', { class: 'pill ' + p[1], text: p[1] }), ' ' + p[2] + ' ' + p[3] + removes(p[4], p[5], p[1]), p[6] ? el('div', { class: 'note', text: p[6] }) : null, madeSame(p[7], p[1]), el('code', { text: p[0] })]);
        })) : el('p', { class: 'empty', text: none })])
      ])
    ]);
  }

  // What had the focus before the table is drawn again, to give it back after: an identity's button
  // (by its ARN) or a pager button (by its id). The keyboard then stays where it was.
  function focusedInTable() {
    var active = document.activeElement;
    if (!active || active.tagName !== 'BUTTON') return null;
    var row = active.closest('tr.row');
    return row ? { arn: row.getAttribute('data-arn') } : active.id ? { id: active.id } : null;
  }
  function refocus(focused) {
    if (!focused) return;
    var target = focused.id ? document.getElementById(focused.id) : Array.prototype.find.call(document.querySelectorAll('#identity-body tr.row'), function (tr) { return tr.getAttribute('data-arn') === focused.arn; });
    if (target && target.tagName === 'TR') target = target.querySelector('button.open');
    if (target && !target.disabled) target.focus();
  }

  function renderRows() {
    var focused = focusedInTable();
    var rows = visibleRows();
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var body = document.getElementById('identity-body');
    body.textContent = '';
    rows.slice(state.page * PAGE, state.page * PAGE + PAGE).forEach(function (i) {
      var r = data.identities[i];
      var tr = el('tr', { class: 'row' + (state.open === i ? ' open' : ''), 'data-arn': arnOf(r) }, [
        el('td', { text: TYPES[r[1]] }), el('td', { class: 'name' }, [el('button', { type: 'button', class: 'open', 'aria-expanded': String(state.open === i), text: r[2] })]), el('td', { text: accountText(r) }),
        el('td', { class: 'num', text: fmt(r[4]) }), el('td', { class: 'num', text: fmt(r[5]) }), el('td', { class: 'num' + (r[6] ? ' hot' : ''), text: fmt(r[6]) }), proposalCell(i)
      ]);
      tr.addEventListener('click', function () { state.open = state.open === i ? -1 : i; linkTo(state.open); renderRows(); });
      body.append(tr);
      if (state.open === i) body.append(el('tr', { class: 'detail-row' }, [el('td', { colspan: '7' }, [details(i)])]));
    });
    document.querySelectorAll('#identity-head th').forEach(function (th) {
      th.classList.toggle('sorted', th.getAttribute('data-key') === String(state.sort));
      th.setAttribute('aria-sort', th.getAttribute('data-key') === String(state.sort) ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    });
    if (!rows.length) body.append(el('tr', {}, [el('td', { colspan: '7', class: 'empty', text: 'No identity matches the filters.' })]));
    var pager = document.getElementById('pager');
    pager.textContent = '';
    var prev = el('button', { text: '‹ Previous', id: 'prev-page' });
    prev.disabled = state.page === 0;
    prev.addEventListener('click', function () { state.page--; renderRows(); });
    var next = el('button', { text: 'Next ›', id: 'next-page' });
    next.disabled = state.page >= pages - 1;
    next.addEventListener('click', function () { state.page++; renderRows(); });
    pager.append(prev, el('span', { id: 'row-count', text: count(rows.length, 'identity', 'identities') + ' · page ' + (state.page + 1) + ' of ' + pages }), next);
    refocus(focused);
  }

  function renderFailures() {
    var box = document.getElementById('failures');
    if (!data.failures.length) return;
    var row = function (f) { return el('tr', {}, [el('td', { text: f.arn }), el('td', { text: f.code }), el('td', { text: f.message })]); };
    var body = el('tbody', {}, data.failures.slice(0, FAILURES_SHOWN).map(row));
    box.append(el('h2', { text: 'Identities without a report (' + fmt(data.failures.length) + ')' }), el('p', { class: 'note', text: 'Unknown, never counted as unused.' }), el('table', { class: 'plain' }, [
      el('thead', {}, [el('tr', {}, ['Identity', 'Code', 'Why'].map(function (h) { return el('th', { text: h }); }))]),
      body
    ]));
    if (data.failures.length <= FAILURES_SHOWN) return;
    // The first ones drawn, so that a run with thousands of them still opens at once; never fewer said.
    var more = el('p', { id: 'failures-more', class: 'note' }, ['The first ' + fmt(FAILURES_SHOWN) + ' of ' + fmt(data.failures.length) + ' are shown. ']);
    var all = el('button', { type: 'button', id: 'show-all-failures', text: 'Show all ' + fmt(data.failures.length) });
    all.addEventListener('click', function () {
      data.failures.slice(FAILURES_SHOWN).forEach(function (f) { body.append(row(f)); });
      more.remove();
    });
    more.append(all);
    box.append(more);
  }

  renderHeader();
  renderNumbers();
  renderAccounts();
  renderCharts();
  renderChanges();
  renderTableControls();
  renderShared();
  openLinkedIdentity();
  renderRows();
  renderFailures();
  showLinkedIdentity();
  // When everything is drawn and the table answers, in ms since the navigation started (tests read it).
  document.body.setAttribute('data-ready-ms', String(Math.round(performance.now())));
  document.body.setAttribute('data-ready', 'true');
})();
`;

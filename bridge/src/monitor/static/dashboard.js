// The live dashboard: polls /dashboard/data every second, redraws five uPlot charts and the SLO
// cards. Plain browser JavaScript (no build step); uPlot is loaded before this file.
/* global uPlot */
'use strict';

const POLL_MS = 1000;
const HISTORY_POINTS = 300;
const COLORS = ['#1f77b4', '#2e9d4f', '#d33', '#9467bd', '#e0a100'];

const CHARTS = [
  {
    id: 'chart-throughput',
    series: [
      ['offered journals/s', (p) => p.offeredPerSec],
      ['journals/s', (p) => p.journalsPerSec],
      ['requests/s', (p) => p.requestsPerSec],
    ],
  },
  {
    id: 'chart-latency',
    series: [
      ['p50', (p) => p.p50Ms],
      ['p95', (p) => p.p95Ms],
      ['p99', (p) => p.p99Ms],
      ['balance p95', (p) => p.balanceP95Ms],
    ],
  },
  { id: 'chart-errors', series: [['5xx ratio', (p) => p.errorRatio]] },
  { id: 'chart-lag', series: [['lag ms', (p) => p.lagMs]] },
  { id: 'chart-cache', series: [['hit ratio', (p) => p.cacheHitRatio]] },
];

const points = [];
let since = 0;

function makeChart(chart) {
  const el = document.getElementById(chart.id);
  const width = Math.max(300, el.parentElement.clientWidth - 16);
  const opts = {
    width,
    height: 180,
    scales: { x: { time: true } },
    series: [{}].concat(
      chart.series.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2 })),
    ),
  };
  return new uPlot(opts, [[]].concat(chart.series.map(() => [])), el);
}

const plots = CHARTS.map((chart) => ({ chart, plot: makeChart(chart) }));

function redraw() {
  const xs = points.map((p) => p.t / 1000);
  for (const { chart, plot } of plots) {
    plot.setData([xs].concat(chart.series.map(([, pick]) => points.map(pick))));
  }
  for (const { chart } of plots) {
    // A chart whose every series is empty says so (the balance cache, before it exists).
    const empty = points.every((p) => chart.series.every(([, pick]) => pick(p) === null));
    const title = document.getElementById(chart.id).parentElement.querySelector('h2');
    title.dataset.empty = String(empty);
  }
  document.body.dataset.points = String(points.length);
  document.getElementById('points').textContent = String(points.length);
}

function formatValue(value, unit) {
  if (unit === 'ratio') return (value * 100).toFixed(3).replace(/\.?0+$/, '') + '%';
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : 1;
  return value.toFixed(digits) + ' ' + unit;
}

function format(slo) {
  return slo.current === null ? 'no data' : formatValue(slo.current, slo.unit);
}

function renderSlos(report, alerts) {
  const box = document.getElementById('slos');
  box.replaceChildren(
    ...report.slos.map((slo) => {
      const card = document.createElement('div');
      card.className = 'slo';
      card.dataset.state = slo.state;
      card.dataset.slo = slo.name;
      const burn =
        slo.burnRate === null || slo.state === 'no_data' ? '' : ' · burn ' + slo.burnRate + '×';
      card.innerHTML =
        '<span class="state"></span><div class="name"></div><div class="value"></div>' +
        '<div class="value desc"></div>';
      card.querySelector('.state').textContent = slo.state.replace('_', ' ');
      card.querySelector('.name').textContent = slo.name;
      card.querySelector('.value').textContent =
        'now ' +
        format(slo) +
        ' · target ' +
        slo.objective +
        ' ' +
        formatValue(slo.target, slo.unit) +
        burn;
      card.querySelector('.desc').textContent = slo.description;
      return card;
    }),
  );
  box.dataset.sloCount = String(report.slos.length);
  const firing = alerts.length === 0 ? 'no alerts' : 'ALERTS: ' + alerts.join(', ');
  document.getElementById('status').firstChild.textContent =
    'updated ' + new Date(report.at).toLocaleTimeString() + ' · ' + firing + ' · ';
}

// The data needs an API key with monitor:read. The page takes it from its URL fragment
// (/dashboard#key=lbk_…: a fragment is never sent to a server nor written to its logs), keeps it
// for this tab only, and removes it from the address bar.
const KEY_STORAGE = 'ledger-bridge.monitor-key';
const fragmentKey = new URLSearchParams(location.hash.slice(1)).get('key');
if (fragmentKey) {
  sessionStorage.setItem(KEY_STORAGE, fragmentKey);
  history.replaceState(null, '', location.pathname + location.search);
}

async function poll() {
  try {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const res = await fetch('/dashboard/data?since=' + since, {
      cache: 'no-store',
      headers: key ? { authorization: 'Bearer ' + key } : {},
    });
    if (res.status === 401 || res.status === 403) {
      const refusal = await res.json();
      throw new Error(refusal.error.code + ': open /dashboard#key=<an API key with monitor:read>');
    }
    const data = await res.json();
    for (const p of data.points) points.push(p);
    if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS);
    if (points.length > 0) since = points[points.length - 1].t;
    redraw();
    renderSlos(data.slo, data.alerts);
  } catch (error) {
    document.getElementById('status').firstChild.textContent = 'poll failed: ' + error + ' · ';
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();

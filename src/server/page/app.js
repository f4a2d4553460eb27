// The cluster page: polls /api/cluster (src/server/cluster-view.ts) every
// second, renders the members, the leader changes and a throughput graph
// from the history it keeps itself. Plain browser JavaScript, no library:
// raftis serves this file as it is.
'use strict';

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 3000;
const HISTORY_MS = 5 * 60 * 1000;
/** Samples further apart than this are not joined by a line. */
const GAP_MS = 5000;
const COLORS = ['#1849a9', '#c4320a', '#067647', '#6927da', '#b54708', '#0e7090', '#c11574', '#4e5ba6'];

/** Per node: [time, ops/s] samples; and the cluster's [time, commit index] to draw entries/s. */
const history = new Map();
const commits = [];
let last; // the last view received
let failingSince; // the serving node stopped answering the page (ms)

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

const hhmmss = (ms) => new Date(ms).toISOString().slice(11, 19);

function bytes(n) {
  if (!(n >= 0)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function ago(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function color(id) {
  return COLORS[(id - 1) % COLORS.length];
}

function record(view) {
  const t = view.time;
  for (const m of view.members) {
    if (!history.has(m.id)) history.set(m.id, []);
    // A gap (null) where the member did not answer, so the line breaks instead of lying.
    history.get(m.id).push([t, m.reachable ? m.status.opsPerSec : null]);
  }
  const lead = view.members.find((m) => m.id === view.leader && m.reachable);
  const commit = lead ? lead.status.commit : Math.max(0, ...view.members.filter((m) => m.reachable).map((m) => m.status.commit));
  commits.push([t, commit]);
  for (const arr of [...history.values(), commits]) while (arr.length > 0 && arr[0][0] < t - HISTORY_MS) arr.shift();
}

function connection(m, view) {
  if (m.id === view.servedBy) return h('span', { class: 'muted' }, 'serving this page');
  const parts = [];
  if (m.link) {
    const both = m.link.connected && m.link.inbound;
    const txt = both ? 'linked' : m.link.connected ? 'out only' : m.link.inbound ? 'in only' : 'not connected';
    parts.push(h('span', { class: both ? 'ok' : 'bad', title: m.link.error || `to/from node ${view.servedBy}` }, txt));
  }
  if (m.progress) {
    parts.push(' · ', h('span', { class: m.progress.active ? 'muted' : 'bad', title: "the leader's view" }, `${m.progress.state}${m.progress.active ? '' : ', silent'}`));
  }
  if (m.rttMs !== undefined && m.reachable) parts.push(h('span', { class: 'muted' }, ` · ${m.rttMs} ms`));
  return parts;
}

function memberRow(m, view) {
  const s = m.status;
  const addr = h('td', { class: 'muted' }, m.addr);
  const name = h('td', {}, `node ${m.id}`, m.id === view.servedBy ? h('span', { class: 'muted' }, ' (this)') : null);
  const lag =
    m.lag === undefined
      ? '?'
      : h('span', { class: m.lag > 1000 ? 'bad' : m.lag > 0 ? 'warn' : 'ok', title: m.lagSource === 'leader' ? "leader's last index − its match index" : 'highest commit reported − its applied index' }, String(m.lag));
  if (!m.reachable) {
    let why = `unreachable since ${hhmmss(m.since)} (from node ${view.servedBy}): ${m.reason}`;
    if (m.lastSeen !== undefined) why += `; last answer ${ago(m.lastSeen, view.time)} ago`;
    if (m.lag !== undefined && m.lagSource === 'leader') why += `; leader says ${m.lag} entries behind`;
    return h('tr', { class: 'down', 'data-node-id': m.id, 'data-role': 'unknown', 'data-reachable': 'no' }, name, h('td', { class: 'bad' }, 'down?'), h('td', { class: 'why', colspan: 9 }, why), addr);
  }
  return h(
    'tr',
    { 'data-node-id': m.id, 'data-role': s.role, 'data-reachable': 'yes' },
    name,
    h('td', { class: `role-${s.role}` }, s.role + (s.membership === 'learner' ? ' (learner)' : '')),
    h('td', { class: 'num' }, s.term),
    h('td', { class: 'num', 'data-field': 'commit' }, s.commit),
    h('td', { class: 'num', 'data-field': 'applied' }, s.applied),
    h('td', { class: 'num' }, lag),
    h('td', {}, connection(m, view)),
    h('td', { class: 'num', 'data-field': 'ops' }, s.opsPerSec),
    h('td', { class: 'num', title: `rss ${bytes(s.rss)}` }, bytes(s.usedMemory)),
    h('td', { class: 'num', 'data-field': 'keys' }, s.keys),
    h('td', { class: 'num' }, s.clients),
    addr,
  );
}

function graph(now) {
  const W = 1000, H = 240, L = 48, R = 8, T = 8, B = 22;
  const x = (t) => L + ((t - (now - HISTORY_MS)) / HISTORY_MS) * (W - L - R);
  const rates = [];
  for (let i = 1; i < commits.length; i++) {
    const [t0, c0] = commits[i - 1];
    const [t1, c1] = commits[i];
    if (t1 > t0) rates.push([t1, Math.max(0, ((c1 - c0) * 1000) / (t1 - t0))]);
  }
  let max = 10;
  for (const arr of history.values()) for (const [, v] of arr) if (v !== null) max = Math.max(max, v);
  for (const [, v] of rates) max = Math.max(max, v);
  const step = niceStep(max / 4);
  max = Math.ceil(max / step) * step;
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'throughput' });
  for (let v = 0; v <= max; v += step) {
    root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    root.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtRate(v)));
  }
  for (let m = 0; m <= 5; m++) {
    const t = now - m * 60000;
    root.append(svg('text', { x: x(t), y: H - 6, 'text-anchor': m === 0 ? 'end' : 'middle' }, m === 0 ? 'now' : `−${m} min`));
  }
  const line = (pts, c, dash) => {
    let d = '';
    let pen = false;
    let prev = 0;
    for (const [t, v] of pts) {
      // No answer, or no sample for a while (the page could not poll): a gap, not a straight line across it.
      if (v === null || t - prev > GAP_MS) pen = false;
      prev = t;
      if (v === null) continue;
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d !== '') root.append(svg('path', { d, fill: 'none', stroke: c, 'stroke-width': 2, 'stroke-dasharray': dash || 'none', 'vector-effect': 'non-scaling-stroke' }));
  };
  const legend = h('div', { class: 'legend' });
  for (const [id, pts] of [...history.entries()].sort((a, b) => a[0] - b[0])) {
    line(pts, color(id), null);
    legend.append(h('span', { style: `--c:${color(id)}` }, `node ${id} commands/s`));
  }
  line(rates, '#6b7280', '6 4');
  legend.append(h('span', { style: '--c:#6b7280' }, 'log entries committed/s'));
  const g = document.getElementById('graph');
  g.replaceChildren(root, legend);
}

function niceStep(v) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(v, 1))));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtRate(v) {
  return v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v);
}

function render(view) {
  const summary = document.getElementById('summary');
  summary.replaceChildren(
    h('span', {}, `served by node ${view.servedBy} · `),
    view.leader !== 0
      ? h('span', { id: 'leader', 'data-leader': view.leader, class: 'role-leader' }, `leader: node ${view.leader}`)
      : h('span', { id: 'leader', 'data-leader': 0, class: 'bad' }, 'no leader visible'),
    h('span', {}, ` · term ${view.term} · ${view.reachable} of ${view.total} members answering`),
  );
  document.getElementById('updated').textContent = `updated ${hhmmss(view.time)} UTC`;
  document.getElementById('notes').replaceChildren(...view.notes.map((n) => h('li', {}, n)));
  document.querySelector('#members tbody').replaceChildren(...view.members.map((m) => memberRow(m, view)));
  document.querySelector('#changes tbody').replaceChildren(
    ...view.leaderChanges
      .slice()
      .reverse()
      .map((c) => h('tr', {}, h('td', {}, `${new Date(c.time).toISOString().slice(0, 10)} ${hhmmss(c.time)}`), h('td', { class: 'num' }, c.term), h('td', {}, `node ${c.leader}`), h('td', { class: 'muted' }, c.seenBy.map((i) => `node ${i}`).join(', ')))),
  );
  if (view.leaderChanges.length === 0) document.querySelector('#changes tbody').append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'none seen since the reachable members started')));
  graph(view.time);
}

function showBanner(text) {
  const b = document.getElementById('banner');
  b.hidden = text === undefined;
  b.textContent = text || '';
}

async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch('/api/cluster', { signal: ctl.signal, cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const view = await res.json();
    failingSince = undefined;
    showBanner(undefined);
    last = view;
    record(view);
    render(view);
  } catch (e) {
    failingSince ??= Date.now();
    const who = last ? `node ${last.servedBy}` : 'the node serving this page';
    const why = e && e.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : (e && e.message) || String(e);
    showBanner(`${who} is not answering since ${hhmmss(failingSince)} UTC (${why}); showing its last answer${last ? ` from ${hhmmss(last.time)} UTC` : ''}. Open the page on another member to see the cluster from there.`);
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}

poll();

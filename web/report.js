// facegate officer console: the day's report with its chart and group error rates (supervisor, auditor).

import { $, DASH, OUTCOMES, REASONS, api, errorBox, fmtNum, fmtRate, h, heading, humanize, isNum, present, put, s, state, todayUTC } from './core.js';

// ---- report --------------------------------------------------------------------------------------

const OUTCOME_COLOURS = { MATCHED: '#0b6b2e', NO_MATCH: '#a3000b', FAILURE_TO_ACQUIRE: '#7a4a00', LIVENESS_SUSPECT: '#6b0b5a', OPT_OUT: '#0b3d91' };

export function viewReport(view, arg, gen) {
  const date = h('input', { type: 'date', id: 'report-date', value: state.reportDate || todayUTC() });
  const port = h('input', { type: 'text', id: 'report-port', value: state.reportPort, placeholder: 'all', size: 6 });
  const out = h('div', { id: 'report-body' });
  const form = h('form.toolbar', null, h('label', null, 'Date (UTC)', date), h('label', null, 'Port', port),
    h('button.btn-primary', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  view.append(heading('Daily report'), form, out);
  async function load() {
    state.reportDate = date.value || todayUTC();
    state.reportPort = port.value.trim();
    put(out, h('p.muted', { text: 'Loading…' }));
    try {
      const q = state.reportPort ? `?port=${encodeURIComponent(state.reportPort)}` : '';
      const rep = await api(`/v1/reports/${encodeURIComponent(state.reportDate)}${q}`);
      if (gen !== state.gen) return;
      renderReport(out, rep || {});
    } catch (e) {
      if (gen === state.gen) put(out, errorBox(e));
    }
  }
  load();
}

// The figures the issue names (the Report schema of /openapi.json): counts at
// the top, rates as {value, numerator, denominator, ci95, iso_19795_1} under
// "rates", {median, p90, n} under "transaction_ms"; every numeric figure is
// also listed below the charts, so nothing is hidden.
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const REPORT_TILES = [
  ['Encounters', (r) => r.encounters, fmtNum],
  ['Capture rate', (r) => r.rates.capture_rate, fmtRate],
  ['Match rate', (r) => r.rates.match_rate, fmtRate],
  ['Failure to acquire (FTAR)', (r) => r.rates.ftar, fmtRate],
  ['Opt-outs', (r) => r.opt_outs, fmtNum],
  ['Watchlist hits', (r) => r.watchlist_hits, fmtNum],
  ['Referrals', (r) => sum(r.referrals), fmtNum],
  ['Median transaction', (r) => r.transaction_ms.median, (v) => `${fmtNum(v, 1)} ms`],
  ['Crossings', (r) => r.crossings.total, fmtNum],
  ['Manual crossings', (r) => r.crossings.manual, fmtNum],
];

function renderReport(out, rep) {
  const tiles = h('div.tiles', { id: 'report-tiles' });
  for (const [label, get, fmt] of REPORT_TILES) {
    const v = get(rep);
    const rate = v && typeof v === 'object' ? v : null;
    const value = rate ? rate.value : v;
    tiles.append(h('div.tile', { title: rate?.iso_19795_1 || null }, h('div.k', { text: label }),
      h('div.v', { text: value === undefined || value === null ? DASH : fmt(value) }),
      rate && isNum(rate.denominator) ? h('div.muted', { text: `${rate.numerator} of ${rate.denominator}` }) : null));
  }
  const byOutcome = rep.outcomes;
  const byReason = rep.referrals;
  const crossingsBy = Object.fromEntries(Object.entries(rep.crossings).filter(([k]) => k !== 'total'));
  const charts = h('div.charts', null,
    h('div.chart', { id: 'chart-outcomes' }, h('h2', { text: 'Encounters by outcome' }),
      byOutcome ? barChart(byOutcome, (k) => OUTCOMES[k]?.[0] ?? k, (k) => OUTCOME_COLOURS[k] || '#444', 'Encounters by outcome') : h('p.muted', { text: 'No figures.' })),
    h('div.chart', { id: 'chart-reasons' }, h('h2', { text: 'Referrals by reason' }),
      byReason ? barChart(byReason, (k) => REASONS[k]?.[0] ?? k, (k) => (REASONS[k]?.[1] === 'bad' ? '#a3000b' : REASONS[k]?.[1] === 'warn' ? '#7a4a00' : '#0b3d91'), 'Referrals by reason') : h('p.muted', { text: 'No figures.' })),
    crossingsBy ? h('div.chart', { id: 'chart-crossings' }, h('h2', { text: 'Crossings recorded' }),
      barChart(crossingsBy, (k) => ({ biometric: '◉ biometric', manual: '✎ manual', entry: '↓ entry', exit: '↑ exit' }[k] ?? k), (k) => (k === 'manual' ? '#7a4a00' : '#0b3d91'), 'Crossings recorded')) : null);
  put(out, tiles, charts, renderGroups(rep.groups), h('h2', { text: 'All figures' }), figuresTable(rep));
}

// Every figure of the report, each with a label a person reads (not the
// service's member names): rates with their numerator and denominator and
// the ISO/IEC 19795-1 term, counts by outcome, reason and crossing method.
const FIGURE_LABELS = {
  date: 'Date (UTC)', port: 'Port of entry', encounters: 'Encounters', attempted: 'Encounters with a capture attempted',
  with_face: 'Captures with a usable face', opt_outs: 'Opt-outs', watchlist_hits: 'Watchlist hits',
  failures_to_acquire: 'Failures to acquire', audit_anchor: 'Audit anchor (chain head when the report ran)',
  'transaction_ms.median': 'Transaction time, median', 'transaction_ms.p90': 'Transaction time, 90th percentile',
  'transaction_ms.n': 'Transactions timed',
};
const RATE_LABELS = { capture_rate: 'Capture rate', match_rate: 'Match rate', ftar: 'Failure-to-acquire rate (FTAR)' };
const CROSSING_LABELS = { biometric: 'biometric', manual: 'manual (officer)', entry: 'entries', exit: 'exits', total: 'total' };

function figuresTable(rep) {
  const rows = [];
  const add = (label, value, cls) => rows.push([label, value, cls]);
  for (const [k, v] of Object.entries(rep || {})) {
    if (k === 'groups') continue; // its own section (renderGroups)
    if (k === 'rates' && v && typeof v === 'object') {
      for (const [rk, rv] of Object.entries(v)) {
        const r = rv && typeof rv === 'object' ? rv : { value: rv };
        add(RATE_LABELS[rk] || humanize(rk), isNum(r.value) ? `${fmtRate(r.value)}${isNum(r.denominator) ? ` (${r.numerator} of ${r.denominator})` : ''}` : `${DASH} (none attempted)`, 'num');
        if (r.iso_19795_1) rows[rows.length - 1].push(r.iso_19795_1);
      }
    } else if (k === 'outcomes' && v && typeof v === 'object') {
      for (const [ok_, n] of Object.entries(v)) add(`Encounters ${OUTCOMES[ok_]?.[0] ?? humanize(ok_)}`, fmtNum(n), 'num');
    } else if (k === 'referrals' && v && typeof v === 'object') {
      for (const [rk, n] of Object.entries(v)) add(`Referrals ${REASONS[rk]?.[0] ?? humanize(rk)}`, fmtNum(n), 'num');
    } else if (k === 'crossings' && v && typeof v === 'object') {
      for (const [ck, n] of Object.entries(v)) add(`Crossings, ${CROSSING_LABELS[ck] || humanize(ck)}`, fmtNum(n), 'num');
    } else if (k === 'transaction_ms' && v && typeof v === 'object') {
      for (const [tk, n] of Object.entries(v)) add(FIGURE_LABELS[`transaction_ms.${tk}`] || `Transaction ${humanize(tk)}`, tk === 'n' ? fmtNum(n) : isNum(n) ? `${fmtNum(n, 1)} ms` : DASH, 'num');
    } else if (v !== null && typeof v === 'object') {
      for (const [sk, sv] of Object.entries(v)) if (!(sv && typeof sv === 'object')) add(`${FIGURE_LABELS[k] || humanize(k)}: ${humanize(sk)}`, present(sv) ? String(sv) : DASH, isNum(sv) ? 'num' : '');
    } else if (k === 'audit_anchor') {
      add(FIGURE_LABELS[k], present(v) ? String(v).replace(/^(\d+):([0-9a-f]{12})[0-9a-f]+$/i, '#$1, hash $2…') : DASH, '');
    } else {
      add(FIGURE_LABELS[k] || humanize(k), k === 'port' && !present(v) ? 'all ports' : isNum(v) ? fmtNum(v) : present(v) ? String(v) : DASH, isNum(v) ? 'num' : '');
    }
  }
  return h('table.grid.figures', { id: 'report-figures' }, h('tbody', null, rows.map(([label, value, cls, term]) => h('tr', null,
    h('th', { scope: 'row', text: label }), h(cls === 'num' ? 'td.num' : 'td', { text: value, title: term || null })))));
}

// Error rates per traveller group (docs/records.md): one table per dimension,
// each rate with its 95% Wilson interval. The server withholds small groups
// (and says how many); the console shows only what it is sent.
const GROUP_DIMS = [['sex', 'By sex'], ['age_band', 'By age band'], ['nationality', 'By nationality']];
const GROUP_RATES = [['capture_rate', 'Capture rate'], ['ftar', 'FTAR'], ['fnir', 'FNIR'], ['watchlist_false_hit_rate', 'Watchlist false hits']];
const fmtCI = (r) => (isNum(r.value) && r.ci95
  ? `${fmtRate(r.value)} (${(r.ci95[0] * 100).toFixed(1)}–${(r.ci95[1] * 100).toFixed(1)} %)` : DASH);

function renderGroups(g) {
  const sec = h('section', { id: 'report-groups' }, h('h2', { text: 'Error rates per traveller group' }),
    h('p.muted', { text: `95% Wilson intervals. ${g.attributed_encounters} encounters attributed to a manifest traveller, ${g.unattributed_encounters} not. Groups of fewer than ${g.min_travellers} travellers are withheld.` }));
  for (const [dim, title] of GROUP_DIMS) {
    const d = g[dim];
    const rows = d.groups;
    sec.append(h('h3', { text: title }));
    if (rows.length) {
      sec.append(h('table.grid', { id: `groups-${dim}` },
        h('thead', null, h('tr', null, h('th', { text: 'Group' }), h('th', { text: 'Travellers' }), h('th', { text: 'Encounters' }),
          ...GROUP_RATES.map(([, label]) => h('th', { text: label })))),
        h('tbody', null, rows.map((r) => h('tr', { 'data-group': r.group },
          h('td', { text: r.group }), h('td.num', { text: fmtNum(r.travellers) }), h('td.num', { text: fmtNum(r.encounters) }),
          ...GROUP_RATES.map(([k]) => {
            const rate = r.rates[k];
            return h('td.num', { text: fmtCI(rate), title: isNum(rate.denominator) ? `${rate.numerator} of ${rate.denominator}` : null });
          }))))));
    }
    const w = d.withheld_groups || 0;
    if (w || !rows.length) {
      sec.append(h('p.muted.withheld', { 'data-dim': dim, text: w ? `${w} group${w === 1 ? '' : 's'} withheld: too few travellers.` : 'No attributed encounters.' }));
    }
  }
  return sec;
}

// Horizontal bar chart as inline SVG; each bar labelled with its name and value.
function barChart(counts, labelOf, colourOf, title) {
  const entries = Object.entries(counts).filter(([, v]) => isNum(v) || isNum(v?.count));
  const vals = entries.map(([k, v]) => [k, isNum(v) ? v : v.count]);
  const max = Math.max(1, ...vals.map(([, v]) => v));
  const rowH = 30, labelW = 190, W = 520, barW = W - labelW - 60;
  const H = Math.max(rowH, vals.length * rowH) + 6;
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${vals.map(([k, v]) => `${labelOf(k)} ${v}`).join(', ')}` },
    s('title', null, title),
    vals.map(([k, v], i) => {
      const y = 3 + i * rowH;
      const w = Math.max(v > 0 ? 2 : 0, (v / max) * barW);
      return s('g', null,
        s('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, labelOf(k)),
        s('rect', { x: labelW, y: y + 4, width: w, height: rowH - 10, fill: colourOf(k) }),
        s('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, 'font-weight': 700 }, String(v)));
    }),
    s('line', { x1: labelW, x2: labelW, y1: 0, y2: H, stroke: '#111' }));
}

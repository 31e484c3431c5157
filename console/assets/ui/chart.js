// chart.js: a line chart as inline SVG, drawn here (no chart library). Gaps (null values: the
// device was offline or a value was bad) break the line; booleans and enum codes are drawn as
// steps, since they jump rather than glide.

import { t } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// niceTicks picks about n round numbers spanning [lo, hi].
function niceTicks(lo, hi, n) {
  if (lo === hi) { lo -= 1; hi += 1; }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return { ticks: out, lo: Math.min(lo, out[0]), hi: Math.max(hi, out[out.length - 1]) };
}

function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  if (spanMs > 36 * 3600e3) return String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0') + ' ' + String(d.getHours()).padStart(2, '0') + ':00';
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

// lineChart draws values ([[unixMs, number|null], ...]) and returns the <svg>.
// opts: {kind: 'number'|'bool'|'enum', unit, labels: {code: label}, title}.
export function lineChart(values, opts = {}) {
  const W = 640, H = 220, L = 56, R = 12, T = 14, B = 26;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': opts.title || t('chart.title') });
  const pts = values.filter((v) => v[1] !== null && v[1] !== undefined && isFinite(v[1]));
  if (!values.length) {
    svg.appendChild(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, t('chart.empty')));
    return svg;
  }
  const t0 = values[0][0], t1 = Math.max(values[values.length - 1][0], t0 + 1000);
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (!pts.length) { lo = 0; hi = 1; }
  if (opts.kind === 'bool') { lo = 0; hi = 1; }
  const pad = opts.kind === 'number' ? (hi - lo) * 0.08 : 0;
  const nt = opts.kind === 'bool' ? { ticks: [0, 1], lo: 0, hi: 1 } : niceTicks(lo - pad, hi + pad, 4);
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - nt.lo) / (nt.hi - nt.lo || 1)) * (H - T - B);

  const grid = s('g', { class: 'chart-grid' });
  for (const v of nt.ticks) {
    grid.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    let text = String(v);
    if (opts.kind === 'bool') text = t(v ? 'value.on' : 'value.off');
    else if (opts.kind === 'enum' && opts.labels && opts.labels[v] !== undefined) text = opts.labels[v];
    const lab = s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, text.length > 9 ? text.slice(0, 8) + '…' : text);
    grid.appendChild(lab);
  }
  const span = t1 - t0;
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4;
    grid.appendChild(s('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, timeLabel(t, span)));
  }
  if (opts.unit) grid.appendChild(s('text', { x: 4, y: T + 4, class: 'chart-unit' }, opts.unit));
  svg.appendChild(grid);

  const step = opts.kind === 'bool' || opts.kind === 'enum';
  let d = '';
  let pen = false;
  for (const [t, v] of values) {
    if (v === null || v === undefined || !isFinite(v)) { pen = false; continue; }
    const X = x(t).toFixed(1), Y = y(v).toFixed(1);
    if (!pen) d += `M${X},${Y}`;
    else if (step) d += `H${X}V${Y}`;
    else d += `L${X},${Y}`;
    pen = true;
  }
  svg.appendChild(s('path', { d, class: 'chart-line' }));
  if (pts.length === 1) {
    svg.appendChild(s('circle', { cx: x(pts[0][0]), cy: y(pts[0][1]), r: 3, class: 'chart-dot' }));
  }
  return svg;
}

// barChart draws labelled bars ([[label, number], ...]) horizontally and returns the <svg>.
export function barChart(rows, opts = {}) {
  const W = 480, row = 24, L = 130, R = 40, H = Math.max(rows.length, 1) * row + 8;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart bars', role: 'img', 'aria-label': opts.title || t('chart.title') });
  const maxV = Math.max(1, ...rows.map((r) => r[1]));
  rows.forEach(([lab, v], i) => {
    const y = 4 + i * row;
    const w = ((W - L - R) * v) / maxV;
    svg.appendChild(s('text', { x: L - 6, y: y + 16, 'text-anchor': 'end' }, String(lab)));
    svg.appendChild(s('rect', { x: L, y: y + 3, width: Math.max(w, v ? 2 : 0), height: row - 8, class: 'bar' }));
    svg.appendChild(s('text', { x: L + w + 4, y: y + 16 }, opts.format ? opts.format(v) : String(v)));
  });
  return svg;
}

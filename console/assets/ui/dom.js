// dom.js: building elements node by node, never by parsing markup strings, so text from the server (alarm messages,
// device tags, error messages) is always text and never markup.

import { t as tr, has } from './i18n.js';

// h creates an element: h('p', {class: 'x', onclick: f}, 'text', child, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ago says how long ago t was, in words a guard reads at a glance ("4 min ago", "4 分钟前").
export function ago(t, now = Date.now()) {
  if (!t) return '';
  const ms = now - new Date(t).getTime();
  if (!isFinite(ms)) return '';
  const s = Math.round(ms / 1000);
  if (s < 5) return tr('time.just_now');
  if (s < 60) return tr('time.s_ago', { n: s });
  if (s < 3600) return tr('time.min_ago', { n: Math.floor(s / 60) });
  if (s < 86400) return tr('time.h_min_ago', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return tr('time.d_ago', { n: Math.floor(s / 86400) });
}

// countdown says how long until t ("in 1 h 20 min", "1 小时 20 分钟后") or how far past it
// ("12 min late", "已超时 12 分钟").
export function countdown(t, now = Date.now()) {
  const ms = new Date(t).getTime() - now;
  if (!isFinite(ms)) return '';
  const late = ms < 0;
  let s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60);
  let span = d ? tr('span.d_h', { d, h: hr }) : hr ? tr('span.h_min', { h: hr, m }) : tr('span.min', { m: Math.max(m, 0) });
  if (!d && !hr && m < 1) span = tr('span.s', { s: s - m * 60 });
  return tr(late ? 'time.late' : 'time.in', { span });
}

const pad = (n) => String(n).padStart(2, '0');

// dateTime writes a moment as both languages' documents do: 2026-11-29 09:41.
export function dateTime(t) {
  const d = new Date(t);
  if (!t || isNaN(d)) return '';
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}

// clock formats a time as local 09:41:05 today, and as 2026-11-29 09:41 on another day.
export function clock(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return '';
  const today = new Date().toDateString() === d.toDateString();
  return today ? pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) : dateTime(d);
}

// fmtValue shows a reading's value: numbers rounded for people, booleans as on/off.
export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return tr(v ? 'value.on' : 'value.off');
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3);
  }
  return String(v);
}

// label names a value the server sends as an identifier (a state, a kind, a priority) in the
// console's language; one the catalogue does not know has its snake_case turned into words.
export function label(s) {
  const k = String(s || '');
  return has('v.' + k) ? tr('v.' + k) : k.replace(/_/g, ' ');
}

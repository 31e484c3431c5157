// dom.js: building elements node by node, never by parsing markup strings, so text from the server (alarm messages,
// device tags, error messages) is always text and never markup.

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

// ago says how long ago t was, in words a guard reads at a glance.
export function ago(t, now = Date.now()) {
  if (!t) return '';
  const ms = now - new Date(t).getTime();
  if (!isFinite(ms)) return '';
  const s = Math.round(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
  return Math.floor(s / 86400) + ' d ago';
}

// countdown says how long until t ("in 1 h 20 min") or how far past it ("12 min late").
export function countdown(t, now = Date.now()) {
  const ms = new Date(t).getTime() - now;
  if (!isFinite(ms)) return '';
  const late = ms < 0;
  let s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60);
  const parts = d ? [d + ' d', hr + ' h'] : hr ? [hr + ' h', m + ' min'] : [Math.max(m, 0) + ' min'];
  if (!d && !hr && m < 1) parts[0] = s + ' s';
  return late ? parts.join(' ') + ' late' : 'in ' + parts.join(' ');
}

// clock formats a time as local hh:mm:ss (and the date when not today).
export function clock(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return '';
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

// fmtValue shows a reading's value: numbers rounded for people, booleans as on/off.
export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3);
  }
  return String(v);
}

// label turns snake_case into words.
export function label(s) {
  return String(s || '').replace(/_/g, ' ');
}

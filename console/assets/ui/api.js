// api.js: the console's only way to the server. Every request carries the role token in an
// Authorization header, read from sessionStorage: browsers never attach it to a request another
// site makes, so no form elsewhere can act as the signed-in user (no cookie, nothing to forge),
// and the token is gone when the tab closes.

import { t } from './i18n.js';

const TOKEN = 'facilityd.token';
const NAME = 'facilityd.name';

export function token() { return sessionStorage.getItem(TOKEN) || ''; }
export function setToken(t) { t ? sessionStorage.setItem(TOKEN, t) : sessionStorage.removeItem(TOKEN); }

// myName is who the console acts as in an open console (no tokens): guards type it once.
export function myName() { return localStorage.getItem(NAME) || ''; }
export function setMyName(n) { n ? localStorage.setItem(NAME, n.trim()) : localStorage.removeItem(NAME); }

// ApiError carries the server's own message and status, so pages show exactly what it said,
// and the decoded answer (a failed write answers 502 with its record).
export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const t = token();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

let onUnauthorized = () => {};
// whenUnauthorized sets what happens when the server refuses the token (401): sign in again.
export function whenUnauthorized(f) { onUnauthorized = f; }

// api calls the JSON API and returns the decoded answer, or throws ApiError with the
// server's {"error": ...} message.
export async function api(method, path, body) {
  // The server takes state-changing requests with a JSON body only (415 otherwise), so that no
  // cross-site form can pass for the console: send {} when there is nothing to say.
  if (method !== 'GET' && method !== 'HEAD' && body === undefined) body = {};
  const init = { method, headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}), cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, t('app.no_answer', { error: e.message }));
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const msg = (data && data.error) || text || resp.statusText;
    if (resp.status === 401) onUnauthorized(msg);
    throw new ApiError(resp.status, msg, data);
  }
  return data;
}

// list takes the array out of an answer that is either an array or {"things": [...]}.
export function list(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && typeof data === 'object') {
    for (const v of Object.values(data)) if (Array.isArray(v)) return v;
  }
  return [];
}

// optional calls api and answers null when the route does not exist on this facilityd
// (404 for the route itself), so pages can say "not available" instead of failing.
export async function optional(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    if (e.status === 404 && /no such route/.test(e.message)) return null;
    throw e;
  }
}

const ROLES = ['patrol', 'customer_service', 'engineer', 'admin'];

// Session is who the console is signed in as: open (no tokens configured), name and role.
export const session = { open: true, name: '', role: 'admin', known: false };

// loadSession asks the server who the token belongs to. An older facilityd without
// /api/v1/session is taken as open.
export async function loadSession() {
  const s = await optional('GET', '/api/v1/session');
  Object.assign(session, s || { open: true, name: '', role: 'admin' }, { known: true });
  return session;
}

// can says whether the signed-in role may do something, so pages hide what it may not. The
// server decides in the end; a refusal is shown as it comes. The roles are a ladder, except
// that the patrol's actions (ack, claim, the night check) are never the desk's (api/routes.go).
export function can(action) {
  const need = { ack: 'patrol', claim: 'patrol', raise: 'customer_service', answer: 'customer_service', shelve: 'engineer', order: 'engineer', write: 'engineer' }[action] || 'admin';
  if (session.open) return true;
  if (session.role === 'customer_service' && (action === 'ack' || action === 'claim')) return false;
  return ROLES.indexOf(session.role) >= ROLES.indexOf(need);
}

// actor is the name a claim or transition is made in: the token's name, or the name typed in
// an open console.
export function actor() { return session.name || myName() || 'console'; }

// stream follows GET /api/v1/events with fetch() and a ReadableStream rather than EventSource,
// because EventSource cannot send the Authorization header. It reconnects with backoff, and
// reports its state: 'live', 'connecting', or 'unavailable' (no event stream on this server;
// pages then refresh on a timer). Returns a function that stops it.
export function stream(onEvent, onState) {
  let stopped = false;
  let ctrl = null;
  let wait = 1000;
  let lastId = '';
  async function run() {
    while (!stopped) {
      ctrl = new AbortController();
      onState('connecting');
      try {
        const h = headers({ Accept: 'text/event-stream' });
        if (lastId) h['Last-Event-ID'] = lastId;
        const resp = await fetch('/api/v1/events', { headers: h, signal: ctrl.signal, cache: 'no-store' });
        if (resp.status === 401) { onUnauthorized(t('live.token_refused')); return; }
        if (resp.status === 404) { onState('unavailable'); await sleep(60000); continue; }
        if (!resp.ok || !resp.body) throw new Error(resp.statusText);
        onState('live');
        wait = 1000;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let ev = { type: 'message', data: [] };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (ev.data.length) dispatch(ev);
              ev = { type: 'message', data: [] };
            } else if (!line.startsWith(':')) {
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'event') ev.type = val;
              else if (field === 'data') ev.data.push(val);
              else if (field === 'id') lastId = val;
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      onState('connecting');
      await sleep(wait);
      wait = Math.min(wait * 2, 30000);
    }
  }
  function dispatch(ev) {
    const raw = ev.data.join('\n');
    let data = raw;
    try { data = JSON.parse(raw); } catch { /* plain text */ }
    onEvent({ type: ev.type, data });
  }
  run();
  return () => { stopped = true; if (ctrl) ctrl.abort(); };
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// app.js: the console's shell: sign-in, the open-console banner, navigation between pages
// (#/, #/device/ID, #/alarms, #/patrol, #/orders), and live updates from the event stream.
import { h, replace } from './dom.js';
import { t, lang, LANGS, setLang, translate } from './i18n.js';
import { api, ApiError, loadSession, session, setToken, token, whenUnauthorized, stream, myName, setMyName } from './api.js';
import * as overview from './overview.js';
import * as device from './device.js';
import * as alarms from './alarms.js';
import * as patrol from './patrol.js';
import * as orders from './orders.js';
import * as claim from './claim.js';

const view = document.getElementById('view');
const banner = document.getElementById('banner');
const liveEl = document.getElementById('live');
const userEl = document.getElementById('user');
const signoutBtn = document.getElementById('signout');
const langBtn = document.getElementById('lang');

// The page's shell in the chosen language, and the switch to the other one (remembered).
translate(document);
langBtn.addEventListener('click', () => setLang(LANGS.find((l) => l !== lang)));

const routes = [
  { re: /^#?\/?$/, name: 'overview', page: overview, every: 3000 },
  { re: /^#\/device\/(.+)$/, name: 'overview', page: device, every: 2000 },
  { re: /^#\/alarms$/, name: 'alarms', page: alarms, every: 5000 },
  { re: /^#\/patrol$/, name: 'patrol', page: patrol, every: 5000 },
  { re: /^#\/patrol\/[^?]+$/, name: 'patrol', page: patrol, every: 5000 },
  { re: /^#\/orders$/, name: 'orders', page: orders, every: 10000 },
];

let current = null; // {page instance, route}
let timer = 0;
let pending = 0;
let streamState = 'connecting';

function route() {
  if (current && current.inst.destroy) current.inst.destroy();
  clearInterval(timer);
  const hash = location.hash || '#/';
  let r = routes.find((x) => x.re.test(hash));
  if (!r) r = routes[0];
  const m = hash.match(r.re);
  const params = m ? m.slice(1).map(decodeURIComponent) : [];
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === r.name);
  document.body.dataset.view = r.page === device ? 'device' : r.name;
  replace(view);
  const inst = r.page.mount(view, params);
  current = { inst, r };
  refresh();
  schedule();
}

// schedule refreshes the page on a timer: telemetry pages every few seconds (readings are not
// on the event stream), other pages often only while the event stream is unavailable.
function schedule() {
  clearInterval(timer);
  if (!current) return;
  let every = current.r.every;
  if (streamState === 'live' && current.r.page !== overview && current.r.page !== device) every = 30000;
  timer = setInterval(refresh, every);
}

async function refresh() {
  if (!current || document.hidden && current.r.page !== patrol) return;
  const inst = current.inst;
  try {
    await inst.refresh();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) console.warn('refresh', e);
  }
}

// onEvent: any event (an alarm raised or acknowledged, an alert claimed, an order moved)
// refreshes the page shown, batched over a few hundred milliseconds.
function onEvent(ev) {
  if (current && current.inst.onEvent) current.inst.onEvent(ev);
  if (pending) return;
  pending = setTimeout(() => { pending = 0; refresh(); }, 200);
}

function onStreamState(st) {
  streamState = st;
  liveEl.className = 'live ' + (st === 'live' ? 'on' : 'off');
  const key = st === 'live' ? 'on' : st === 'unavailable' ? 'unavailable' : 'connecting';
  liveEl.dataset.state = st;
  liveEl.textContent = t('live.' + key);
  liveEl.title = t('live.' + key + '_title');
  schedule();
}

function showBanner() {
  if (!session.open) { banner.hidden = true; return; }
  const input = h('input', { id: 'myname', type: 'text', placeholder: t('banner.name_placeholder'), value: myName(), maxlength: 40, 'aria-label': t('banner.name_label') });
  input.addEventListener('change', () => setMyName(input.value));
  replace(banner,
    h('strong', {}, t('banner.title')),
    h('span', { class: 'banner-more' }, t('banner.more')),
    ' ', h('label', {}, t('banner.acting_as'), input));
  banner.className = 'open';
  banner.hidden = false;
}

function showUser() {
  if (session.open) {
    userEl.textContent = '';
    signoutBtn.hidden = true;
  } else {
    userEl.textContent = t('user', { name: session.name, role: session.role });
    signoutBtn.hidden = false;
  }
}

function signIn(message) {
  clearInterval(timer);
  if (current && current.inst.destroy) current.inst.destroy();
  current = null;
  setToken('');
  banner.hidden = true;
  document.body.dataset.view = 'signin';
  const tok = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-label': t('signin.token') });
  const err = h('p', { class: 'error', id: 'signin-error', role: 'alert' }, message || '');
  const form = h('form', { class: 'signin', id: 'signin' },
    h('h1', {}, t('signin.title')),
    h('p', {}, t('signin.help')),
    h('label', {}, t('signin.token'), tok),
    h('button', { type: 'submit', class: 'primary big' }, t('signin.button')),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(tok.value.trim());
    try {
      await loadSession();
      start();
    } catch (ex) {
      setToken('');
      err.textContent = ex.status === 401 ? t('signin.unknown', { error: ex.message }) : ex.message;
    }
  });
  replace(view, form);
  tok.focus();
}

let stopStream = null;
let signingIn = false;

function start() {
  signingIn = false;
  showBanner();
  showUser();
  if (!stopStream) stopStream = stream(onEvent, onStreamState);
  if (!location.hash && !session.open && session.role === 'patrol') location.hash = '#/patrol';
  if (!location.hash && !session.open && session.role === 'customer_service') location.hash = '#/orders';
  route();
}

whenUnauthorized((msg) => {
  if (signingIn) return;
  signingIn = true;
  if (stopStream) { stopStream(); stopStream = null; }
  userEl.textContent = '';
  signoutBtn.hidden = true;
  signIn(token() ? t('signin.refused', { error: msg }) : '');
});

signoutBtn.addEventListener('click', () => {
  setToken('');
  if (stopStream) { stopStream(); stopStream = null; }
  signingIn = true;
  showUser();
  signIn('');
});

window.addEventListener('hashchange', () => {
  const link = claim.match(location.hash);
  if (link) {
    if (current && current.inst.destroy) current.inst.destroy();
    current = null;
    clearInterval(timer);
    document.body.dataset.view = 'claim';
    claim.show(view, link[1]);
    return;
  }
  if (session.known && !signingIn) route();
});

(async function boot() {
  // A claim link from an SMS needs no sign-in: its token is the credential.
  const link = claim.match(location.hash);
  if (link) {
    document.body.dataset.view = 'claim';
    await claim.show(view, link[1]);
    return;
  }
  try {
    await loadSession();
    start();
  } catch (e) {
    if (e.status !== 401) replace(view, h('p', { class: 'error' }, t('app.unreachable', { error: e.message })));
  }
})();

// For the browser test and for people debugging in the console: the API client.
window.facilityd = { api, session };

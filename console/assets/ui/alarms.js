// alarms.js: every alarm with filters, who owns it on the patrol, acknowledge, and shelve with
// a reason. The server refuses what a role may not do, and a life-safety alarm can never be
// shelved: its message is shown as it comes.
import { t } from './i18n.js';
import { h, replace, ago, clock, label } from './dom.js';
import { api, list, optional, can, actor } from './api.js';
import { PRIORITIES, rank, badge, alarmActive } from './common.js';

const SHELVE_FOR = ['15m', '1h', '4h', '8h'];
const SPAN = { '15m': 'shelve.15m', '1h': 'shelve.1h', '4h': 'shelve.4h', '8h': 'shelve.8h' };

export function mount(root) {
  const f = JSON.parse(sessionStorage.getItem('facilityd.alarmfilter') || '{}');
  const filter = { show: f.show || 'active', priority: f.priority || '', zone: f.zone || '', text: f.text || '' };
  const bar = h('form', { class: 'filters', id: 'alarm-filters' });
  const box = h('section', { id: 'alarm-list', class: 'cards' });
  root.append(h('h1', {}, t('alarms.title')), bar, box);
  const notes = new Map(); // alarm id -> {text, error} shown under it until the next action
  const open = new Set(); // alarms with the shelve form open
  let last = { alarms: [], alerts: [] };

  function save() { sessionStorage.setItem('facilityd.alarmfilter', JSON.stringify(filter)); }

  function drawFilters(zones) {
    const sel = (name, opts) => {
      const s = h('select', { name, 'aria-label': t('alarms.filter.' + name) }, opts.map(([v, t]) => h('option', { value: v, selected: filter[name] === v }, t)));
      s.addEventListener('change', () => { filter[name] = s.value; save(); name === 'show' ? refresh() : draw(); });
      return s;
    };
    const text = h('input', { type: 'search', name: 'text', placeholder: t('alarms.search'), value: filter.text, 'aria-label': t('alarms.search_label') });
    text.addEventListener('input', () => { filter.text = text.value; save(); draw(); });
    replace(bar,
      sel('show', ['active', 'unacked', 'shelved', 'all'].map((v) => [v, t('alarms.show.' + v)])),
      sel('priority', [['', t('alarms.any_priority')], ...PRIORITIES.map((p) => [p, label(p)])]),
      sel('zone', [['', t('alarms.every_zone')], ...zones.map((z) => [z, t('alarms.zone', { zone: z })])]),
      text);
  }

  async function refresh() {
    const [al, pa] = await Promise.all([
      // Alarms back to normal are listed only when asked for: an estate has thousands.
      optional('GET', '/api/v1/alarms' + (filter.show === 'all' ? '?all=true' : '')),
      optional('GET', '/api/v1/patrol/alerts').catch(() => null),
    ]);
    if (al === null) {
      replace(box, h('p', { class: 'muted' }, t('alarms.not_served')));
      return;
    }
    last = { alarms: list(al, 'alarms'), alerts: pa ? list(pa, 'alerts') : [] };
    if (!bar.childElementCount) drawFilters([...new Set(last.alarms.map((a) => a.zone).filter(Boolean))].sort());
    draw();
  }

  // owners maps an alarm to the guard who claimed its patrol alert.
  function owners() {
    const m = new Map();
    for (const al of last.alerts) {
      if (!al.owner || al.state === 'cleared') continue;
      const ids = [al.alarm, ...(al.alarms || []).map((a) => a.id)];
      for (const id of ids) if (id) m.set(id, al.owner);
    }
    return m;
  }

  function visible(a) {
    if (filter.show === 'active' && !alarmActive(a)) return false;
    if (filter.show === 'unacked' && !['UNACK', 'RTNUN'].includes(a.state)) return false;
    if (filter.show === 'shelved' && !a.shelved) return false;
    if (filter.priority && a.priority !== filter.priority) return false;
    if (filter.zone && a.zone !== filter.zone) return false;
    const t = filter.text.trim().toLowerCase();
    if (t && !(a.id + ' ' + a.message + ' ' + a.device).toLowerCase().includes(t)) return false;
    return true;
  }

  // A redraw replaces the cards: while someone types a shelve reason it waits until they leave
  // the field, so a live update never eats what they typed.
  let deferred = false;
  box.addEventListener('focusout', (e) => {
    if (deferred && !(e.relatedTarget && box.contains(e.relatedTarget))) { deferred = false; setTimeout(draw, 0); }
  });

  function draw() {
    const el = document.activeElement;
    if (el && box.contains(el) && (el.tagName === 'INPUT' || el.tagName === 'SELECT')) { deferred = true; return; }
    const own = owners();
    const shown = last.alarms.filter(visible).sort((x, y) =>
      (alarmActive(y) - alarmActive(x)) || (rank(x.priority) - rank(y.priority)) ||
      (new Date(y.activated_at || y.updated_at) - new Date(x.activated_at || x.updated_at)));
    if (!shown.length) {
      replace(box, h('p', { class: 'muted', id: 'no-alarms' }, t(last.alarms.length ? 'alarms.none_match' : 'alarms.all_quiet')));
      return;
    }
    replace(box, shown.map((a) => card(a, own.get(a.id))));
  }

  function card(a, owner) {
    const note = notes.get(a.id);
    const actions = [];
    if (can('ack') && ['UNACK', 'RTNUN'].includes(a.state)) {
      actions.push(h('button', { type: 'button', class: 'primary', dataset: { action: 'ack' }, onclick: () => act(a, 'ack', { by: actor() }) }, t('alarms.ack')));
    }
    if (can('shelve') && alarmActive(a) && !a.shelved) {
      actions.push(h('button', { type: 'button', dataset: { action: 'shelve' }, onclick: () => {
        if (open.has(a.id)) { open.delete(a.id); draw(); return; }
        open.add(a.id);
        draw();
        // Straight to the reason: typing there also holds live redraws off the form.
        const input = box.querySelector(`article[data-alarm="${CSS.escape(a.id)}"] form.shelve input[name="reason"]`);
        if (input) input.focus();
      } }, t('alarms.shelve_open')));
    }
    let form = null;
    if (open.has(a.id)) {
      const reason = h('input', { type: 'text', name: 'reason', required: true, placeholder: t('alarms.reason'), 'aria-label': t('alarms.reason_label') });
      const dur = h('select', { name: 'duration', 'aria-label': t('alarms.for_label') }, SHELVE_FOR.map((d) => h('option', { value: d, selected: d === '1h' }, t('alarms.for', { span: t(SPAN[d]) }))));
      form = h('form', { class: 'shelve' }, reason, dur, h('button', { type: 'submit', class: 'primary' }, t('alarms.shelve')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act(a, 'shelve', { by: actor(), reason: reason.value.trim(), duration: dur.value });
      });
    }
    return h('article', { class: 'alarm ' + a.priority + (alarmActive(a) ? '' : ' normal'), dataset: { alarm: a.id, state: a.state } },
      h('div', { class: 'line1' }, badge(a.priority), badge(a.state, 'state-' + a.state),
        a.shelved ? badge(t('flag.shelved'), 'flag') : null, a.suppressed ? badge(t('flag.suppressed'), 'flag') : null,
        a.out_of_service ? badge(t('flag.out_of_service'), 'flag') : null, a.chattering ? badge(t('flag.chattering'), 'flag') : null,
        h('span', { class: 'muted' }, ago(a.activated_at || a.updated_at))),
      h('p', { class: 'msg' }, a.message || a.id),
      h('p', { class: 'meta' },
        h('a', { href: '#/device/' + encodeURIComponent(a.device) }, a.device), ' · ', label(a.class), a.zone ? t('alarms.where_zone', { zone: a.zone }) : '',
        a.building ? t('alarms.where_building', { building: a.building }) : ''),
      h('p', { class: 'meta' },
        owner ? h('span', { class: 'owner' }, t('alarms.owner'), h('b', {}, owner)) : h('span', { class: 'muted owner none' }, t('alarms.not_claimed')),
        a.acked_by ? [t('alarms.acked_by'), h('b', {}, a.acked_by), ' ', ago(a.acked_at)] : null,
        a.shelved ? [t('alarms.shelved_by', { by: a.shelved_by || '?' }), a.shelved_until ? t('alarms.until', { time: clock(a.shelved_until) }) : ''] : null),
      actions.length ? h('div', { class: 'actions' }, actions) : null,
      form,
      note ? h('p', { class: note.error ? 'error note' : 'ok note', role: 'alert' }, note.text) : null);
  }

  async function act(a, what, body) {
    try {
      await api('POST', `/api/v1/alarms/${encodeURIComponent(a.id)}/${what}`, body);
      notes.set(a.id, { text: t(what === 'ack' ? 'alarms.done_ack' : 'alarms.done_shelve') });
      open.delete(a.id);
    } catch (e) {
      notes.set(a.id, { text: t('alarms.refused', { error: e.message }), error: true });
    }
    await refresh().catch(() => draw());
  }

  return { refresh };
}

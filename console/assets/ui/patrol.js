// patrol.js: the night round's page, made for a phone held in one hand: the alerts of my zone,
// most urgent and newest first, who owns each, one big button to claim (the first guard to
// claim owns it), and a beep for a new critical alert once the guard has touched the page
// (browsers allow sound only after a user gesture).
import { t } from './i18n.js';
import { h, replace, ago, label } from './dom.js';
import { api, list, optional, can, actor, session, myName } from './api.js';
import { rank, badge } from './common.js';

let audio = null; // AudioContext, created on the first gesture

function unlockAudio() {
  if (audio) return audio;
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return null;
  audio = new AC();
  if (audio.state === 'suspended') audio.resume();
  return audio;
}

// beep plays three short high tones: unmistakable in a pocket, not a melody.
export function beep() {
  if (!audio) return false;
  const t0 = audio.currentTime + 0.01;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'square';
    osc.frequency.value = 1760;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.3);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.3 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.3 + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + i * 0.3);
    osc.stop(t0 + i * 0.3 + 0.22);
  }
  return true;
}

function alertZones(a) {
  return [a.zone, ...(a.zones || []), ...(a.alarms || []).map((x) => x.zone)].filter(Boolean);
}

function cleared(a) { return a.state === 'cleared'; }

export function mount(root) {
  let zone = localStorage.getItem('facilityd.zone') || '';
  const zoneSel = h('select', { id: 'zone', 'aria-label': t('patrol.my_zone_label') });
  zoneSel.addEventListener('change', () => { zone = zoneSel.value; localStorage.setItem('facilityd.zone', zone); draw(); });
  const sound = h('button', { type: 'button', id: 'sound', class: audio ? 'on' : '', title: t('patrol.sound_title') }, t(audio ? 'patrol.sound_on' : 'patrol.sound_tap'));
  sound.addEventListener('click', () => { unlockAudio(); beep(); sound.textContent = t('patrol.sound_on'); sound.className = 'on'; });
  const box = h('section', { id: 'alerts' });
  const lights = h('section', { id: 'lighting', class: 'card', hidden: true });
  root.append(h('div', { class: 'patrol-bar' }, h('label', {}, t('patrol.my_zone'), zoneSel), sound), box, lights);
  const gesture = () => { unlockAudio(); sound.textContent = t('patrol.sound_on'); sound.className = 'on'; };
  document.addEventListener('pointerdown', gesture, { once: true });

  const seen = new Set();
  const notes = new Map();
  let alerts = [];
  let source = 'patrol';
  let zonesKnown = '';
  let checklists = [];

  async function refresh() {
    const pa = await optional('GET', '/api/v1/patrol/alerts');
    if (pa !== null) {
      source = 'patrol';
      alerts = list(pa, 'alerts');
    } else {
      // Without patrol alerts on this facilityd, the active alarms stand in for them.
      const al = await optional('GET', '/api/v1/alarms');
      source = al === null ? 'none' : 'alarms';
      alerts = al === null ? [] : list(al, 'alarms').filter((a) => a.state !== 'NORM').map((a) => ({
        id: a.id, alarm: a.id, alarms: [a], message: a.message, priority: a.priority, class: a.class,
        zone: a.zone, state: a.acked_by ? 'acked' : 'open', created_at: a.activated_at, acked_by: a.acked_by, owner: a.acked_by,
      }));
    }
    const zones = [...new Set(alerts.flatMap(alertZones))];
    const devs = await api('GET', '/api/v1/devices').then((d) => list(d, 'devices')).catch(() => []);
    for (const d of devs) if (d.zone && !zones.includes(d.zone)) zones.push(d.zone);
    zones.sort();
    if (zones.join() !== zonesKnown) {
      zonesKnown = zones.join();
      replace(zoneSel, h('option', { value: '' }, t('patrol.all_zones')), zones.map((z) => h('option', { value: z, selected: z === zone }, z)));
    }
    // A new critical alert nobody owns beeps once.
    let fresh = false;
    for (const a of alerts) {
      if (!seen.has(a.id) && a.priority === 'critical' && !a.owner && !cleared(a) && mine(a)) fresh = true;
      seen.add(a.id);
    }
    if (fresh) beep();
    const cl = source === 'patrol' ? await optional('GET', '/api/v1/patrol/checklist').catch(() => null) : null;
    checklists = cl ? list(cl, 'checklists') : [];
    draw();
  }

  function mine(a) { return !zone || alertZones(a).includes(zone); }

  // A redraw replaces the cards: while a finger is on the screen it waits, so a live update
  // never swallows the tap in progress.
  let pressed = false;
  let redraw = false;
  root.addEventListener('pointerdown', () => { pressed = true; }, true);
  const release = () => { pressed = false; if (redraw) { redraw = false; setTimeout(draw, 0); } };
  root.addEventListener('pointerup', release, true);
  root.addEventListener('pointercancel', release, true);

  function draw() {
    if (pressed) { redraw = true; return; }
    if (source === 'none') {
      replace(box, h('p', { class: 'muted' }, t('patrol.not_served')));
      return;
    }
    const shown = alerts.filter(mine).sort((x, y) =>
      (cleared(x) - cleared(y)) || (rank(x.priority) - rank(y.priority)) ||
      (new Date(y.created_at) - new Date(x.created_at)));
    const live = shown.filter((a) => !cleared(a));
    const done = shown.filter(cleared).slice(0, 10);
    replace(box,
      live.length ? null : h('p', { class: 'allclear', id: 'all-clear' }, zone ? t('patrol.no_alerts_zone', { zone }) : t('patrol.no_alerts')),
      live.map(card),
      done.length ? [h('h2', { class: 'muted' }, t('patrol.cleared')), done.map(card)] : null);
    drawLights();
  }

  // drawLights shows the newest night lighting check: each circuit found off or failed, to be
  // looked at on the round and ticked off.
  function drawLights() {
    const c = checklists.slice().sort((x, y) => String(y.date).localeCompare(String(x.date)))[0];
    const items = c ? (c.items || []).filter((it) => !zone || it.zone === zone) : [];
    lights.hidden = !c;
    if (!c) return;
    replace(lights, h('h2', {}, t('patrol.lighting', { date: c.date }), h('span', { class: 'muted' }, t('patrol.to_look_at', { n: items.filter((i) => !i.done).length }))),
      items.length ? h('ul', { class: 'plain checklist' }, items.map((it) => h('li', { class: it.done ? 'done' : '', dataset: { item: it.id } },
        h('div', {}, h('b', {}, t('patrol.circuit', { device: it.device, circuit: it.circuit })), ' ', label(it.fault), it.zone ? ' · ' + t('patrol.zone', { zone: it.zone }) : ''),
        it.done ? h('div', { class: 'muted' }, t('patrol.checked_by', { by: it.done_by, ago: ago(it.done_at) }), it.note ? ': ' + it.note : '')
          : can('claim') ? h('button', { type: 'button', class: 'primary', onclick: () => tick(it) }, t('patrol.checked')) : null,
        notes.has(it.id) ? h('p', { class: 'error note' }, notes.get(it.id).text) : null)))
        : h('p', { class: 'ok' }, t('patrol.all_lit')));
  }

  async function tick(it) {
    try {
      await api('POST', `/api/v1/patrol/checklist/${encodeURIComponent(it.id)}/done`, { by: actor(), note: '' });
      notes.delete(it.id);
    } catch (e) {
      notes.set(it.id, { text: e.message, error: true });
    }
    await refresh().catch(() => draw());
  }

  function card(a) {
    const note = notes.get(a.id);
    const unowned = !a.owner;
    let action = null;
    if (!cleared(a) && unowned && source === 'patrol' && can('claim')) {
      action = h('button', { type: 'button', class: 'claim', dataset: { action: 'claim' }, onclick: () => claim(a) }, t('patrol.claim'));
    } else if (!cleared(a) && !a.acked_by && can('ack') && (source === 'alarms' || a.owner === actor())) {
      action = h('button', { type: 'button', class: 'claim ack', dataset: { action: 'ack' }, onclick: () => ack(a) }, t('patrol.ack'));
    }
    const where = [a.zone ? t('patrol.zone', { zone: a.zone }) : '', ...(a.alarms || []).slice(0, 1).map((x) => x.building ? t('patrol.building', { building: x.building }) : '')].filter(Boolean).join(' · ');
    return h('article', { class: 'alert ' + a.priority + (cleared(a) ? ' cleared' : ''), dataset: { alert: a.id, alarm: a.alarm || '' } },
      h('div', { class: 'line1' }, badge(a.priority), a.state ? badge(a.state, 'state-' + a.state) : null, h('span', { class: 'muted' }, ago(a.created_at))),
      h('p', { class: 'msg' }, a.message || a.alarm || a.id),
      h('p', { class: 'meta' }, where, a.class ? ' · ' + label(a.class) : ''),
      h('p', { class: 'owner' }, a.owner ? [t('patrol.owner'), h('b', {}, a.owner), a.claimed_at ? ' · ' + ago(a.claimed_at) : '']
        : cleared(a) ? h('span', { class: 'muted' }, t('patrol.cleared_unclaimed')) : h('span', { class: 'unowned' }, t('patrol.unclaimed'))),
      action,
      note ? h('p', { class: note.error ? 'error note' : 'ok note', role: 'alert' }, note.text) : null);
  }

  async function claim(a) {
    unlockAudio();
    if (session.open && !myName()) {
      notes.set(a.id, { text: t('patrol.name_first'), error: true });
      draw();
      const f = document.getElementById('myname');
      if (f) f.focus();
      return;
    }
    try {
      await api('POST', `/api/v1/patrol/alerts/${encodeURIComponent(a.id)}/claim`, { by: actor() });
      notes.set(a.id, { text: t('patrol.owned') });
    } catch (e) {
      notes.set(a.id, { text: e.message, error: true });
    }
    await refresh().catch(() => draw());
  }

  async function ack(a) {
    try {
      if (source === 'patrol') {
        await api('POST', `/api/v1/patrol/alerts/${encodeURIComponent(a.id)}/ack`, { by: actor(), note: '' });
      } else {
        await api('POST', `/api/v1/alarms/${encodeURIComponent(a.alarm)}/ack`, { by: actor() });
      }
      notes.set(a.id, { text: t('patrol.acked') });
    } catch (e) {
      notes.set(a.id, { text: e.message, error: true });
    }
    await refresh().catch(() => draw());
  }

  return { refresh, destroy() { document.removeEventListener('pointerdown', gesture); } };
}

// orders.js: the work-order board: open orders by state with their deadlines counting down,
// the transitions each state allows, the follow-up calls due (回访), and the month's report.
import { h, replace, ago, countdown, label } from './dom.js';
import { api, list, optional, can, actor } from './api.js';
import { ORDER_STATES, badge, deadline, urgency } from './common.js';
import { barChart } from './chart.js';

// NEXT are the transitions each state allows (DESIGN.md, work orders).
const NEXT = {
  new: ['accept', 'cancel'],
  accepted: ['start', 'cancel'],
  in_progress: ['resolve'],
  resolved: ['follow_up'],
  followed_up: ['close', 'reopen'],
  closed: [],
  cancelled: [],
};

export function mount(root) {
  const follow = h('section', { class: 'card wide', id: 'followups' });
  const board = h('section', { class: 'board', id: 'board' });
  const report = h('section', { class: 'card wide', id: 'report' });
  root.append(h('h1', {}, 'Work orders'), follow, board, report);
  const notes = new Map();
  let orders = [];
  let tick = 0;
  let served = null;

  async function refresh() {
    const data = await optional('GET', '/api/v1/workorders');
    if (data === null) {
      replace(board, h('p', { class: 'muted' }, 'This facilityd does not serve work orders yet.'));
      follow.hidden = report.hidden = true;
      return;
    }
    follow.hidden = report.hidden = false;
    orders = list(data, 'orders');
    draw();
    await drawReport();
  }

  function draw() {
    const due = orders.filter((o) => o.state === 'resolved')
      .sort((a, b) => new Date(deadline(a) || 0) - new Date(deadline(b) || 0));
    replace(follow, h('h2', {}, 'Follow-up calls due (', due.length, ')'),
      due.length ? h('ul', { class: 'plain' }, due.map((o) => h('li', { class: urgency(o) },
        h('b', {}, o.id), ' ', o.title || label(o.category), ' · ', o.device || '', o.zone ? ' · zone ' + o.zone : '',
        deadline(o) ? [' · ', h('span', { class: 'due ' + urgency(o) }, countdown(deadline(o)))] : null)))
        : h('p', { class: 'muted' }, 'No follow-up call is due.'));
    replace(board, ORDER_STATES.filter((s) => s !== 'cancelled').map((s) => {
      let of = orders.filter((o) => o.state === s)
        .sort((a, b) => new Date(deadline(a) || 8.64e15) - new Date(deadline(b) || 8.64e15));
      if (s === 'closed') of = of.slice(-10);
      return h('div', { class: 'column', dataset: { state: s } },
        h('h2', {}, label(s), ' ', h('span', { class: 'muted' }, of.length)),
        of.map(card));
    }));
  }

  function card(o) {
    const d = deadline(o);
    const note = notes.get(o.id);
    const buttons = can('order') ? (NEXT[o.state] || []).map((t) => t === 'follow_up'
      ? [h('button', { type: 'button', class: 'primary', onclick: () => move(o, t, { satisfied: true }) }, 'Satisfied'),
        h('button', { type: 'button', onclick: () => move(o, t, { satisfied: false }) }, 'Not satisfied')]
      : h('button', { type: 'button', class: t === 'cancel' ? '' : 'primary', dataset: { transition: t }, onclick: () => move(o, t, {}) }, label(t))) : [];
    return h('article', { class: 'order ' + (urgency(o) || '') + ' p-' + (o.priority || ''), dataset: { order: o.id } },
      h('div', { class: 'line1' }, h('b', {}, o.id), o.priority ? badge(o.priority) : null, o.rework ? badge('rework', 'flag') : null),
      h('p', { class: 'msg' }, o.title || o.summary || label(o.category)),
      h('p', { class: 'meta' }, [o.device, o.zone ? 'zone ' + o.zone : '', o.team ? 'team ' + o.team : '', o.assignee].filter(Boolean).join(' · ')),
      d ? h('p', { class: 'due ' + urgency(o) }, countdown(d)) : null,
      h('p', { class: 'meta muted' }, 'updated ', ago(o.updated_at || o.created_at)),
      buttons.length ? h('div', { class: 'actions' }, buttons) : null,
      note ? h('p', { class: note.error ? 'error note' : 'ok note', role: 'alert' }, note.text) : null);
  }

  async function move(o, t, extra) {
    try {
      await api('POST', `/api/v1/workorders/${encodeURIComponent(o.id)}/${t}`, { by: actor(), note: '', ...extra });
      notes.set(o.id, { text: label(t) + ': done.' });
    } catch (e) {
      notes.set(o.id, { text: 'Refused: ' + e.message, error: true });
    }
    await refresh().catch(() => draw());
  }

  async function drawReport() {
    const month = new Date().toISOString().slice(0, 7);
    // The server's own report, where it has one, is asked for once a minute; the charts below
    // are redrawn from the orders at every refresh.
    if (Date.now() - tick > 60000) {
      tick = Date.now();
      served = await optional('GET', '/api/v1/workorders/report?month=' + month).catch(() => null);
    }
    const inMonth = orders.filter((o) => String(o.created_at || '').startsWith(month));
    const count = (key) => {
      const m = new Map();
      for (const o of inMonth) m.set(o[key] || '—', (m.get(o[key] || '—') || 0) + 1);
      return [...m.entries()].sort((a, b) => b[1] - a[1]);
    };
    const closed = inMonth.filter((o) => ['followed_up', 'closed'].includes(o.state));
    const satisfied = closed.filter((o) => o.satisfied === true).length;
    replace(report, h('h2', {}, 'Report for ', month),
      served && typeof served === 'object' ? h('pre', { class: 'report-json' }, JSON.stringify(served, null, 2)) : null,
      h('p', {}, inMonth.length, ' orders opened this month, ', closed.length, ' done', closed.length ? ', ' + satisfied + ' with a satisfied follow-up' : '', '; ',
        inMonth.filter((o) => o.rework).length, ' rework.'),
      h('div', { class: 'grid' },
        h('div', {}, h('h3', {}, 'By category'), barChart(count('category').map(([k, v]) => [label(k), v]), { title: 'orders by category' })),
        h('div', {}, h('h3', {}, 'By zone'), barChart(count('zone'), { title: 'orders by zone' })),
        h('div', {}, h('h3', {}, 'By state'), barChart(count('state').map(([k, v]) => [label(k), v]), { title: 'orders by state' }))));
  }

  return { refresh };
}

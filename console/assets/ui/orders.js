// orders.js: the work-order board: open orders by state with their deadlines counting down,
// the transitions each state allows, the follow-up calls due (回访), the confined-space permit
// of a job, the readings since a repair awaiting the supervisor's verification, and the
// month's report.
import { t } from './i18n.js';
import { h, replace, ago, countdown, label } from './dom.js';
import { api, list, optional, can, actor, token } from './api.js';
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

// VERIFY are the moves of an equipment repair awaiting the supervisor's check: verify closes
// it, reopen sends it back (no follow-up call: nobody reported it).
const VERIFY = ['verify', 'reopen'];

// FOLLOW_UP_POINTS are a repair's follow-up points, as the API spells them (workorders.PointNames).
const FOLLOW_UP_POINTS = ['timeliness', 'quality', 'satisfaction'];

const when = (s) => new Date(s).toLocaleString([], { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const num = (x) => (typeof x === 'number' ? String(+x.toFixed(2)) : '—');

export function mount(root) {
  const follow = h('section', { class: 'card wide', id: 'followups' });
  const board = h('section', { class: 'board', id: 'board' });
  const report = h('section', { class: 'card wide', id: 'report' });
  root.append(h('h1', {}, t('orders.title')), follow, board, report);
  const notes = new Map();
  // details are GET /api/v1/workorders/{id} of the resolved orders: whether each awaits the
  // supervisor's verification, and the device's readings since the repair.
  const details = new Map();
  let orders = [];
  let tick = 0;
  let served = null;

  async function refresh() {
    const data = await optional('GET', '/api/v1/workorders');
    if (data === null) {
      replace(board, h('p', { class: 'muted' }, t('orders.not_served')));
      follow.hidden = report.hidden = true;
      return;
    }
    follow.hidden = report.hidden = false;
    orders = list(data, 'orders');
    await Promise.all(orders.filter((o) => o.state === 'resolved').map(async (o) => {
      details.set(o.id, await optional('GET', '/api/v1/workorders/' + encodeURIComponent(o.id)).catch(() => null));
    }));
    draw();
    await drawReport();
  }

  const verifying = (o) => o.state === 'resolved' && !!(details.get(o.id) || {}).awaits_verification;

  function draw() {
    const due = orders.filter((o) => o.state === 'resolved' && !verifying(o))
      .sort((a, b) => new Date(deadline(a) || 0) - new Date(deadline(b) || 0));
    replace(follow, h('h2', {}, t('orders.followups', { n: due.length })),
      due.length ? h('ul', { class: 'plain' }, due.map((o) => h('li', { class: urgency(o) },
        h('b', {}, o.id), ' ', o.title || label(o.category), o.device ? ' · ' + o.device : '', o.zone ? ' · ' + t('orders.zone', { zone: o.zone }) : '',
        deadline(o) ? [' · ', h('span', { class: 'due ' + urgency(o) }, countdown(deadline(o)))] : null)))
        : h('p', { class: 'muted' }, t('orders.no_followups')));
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
    // The follow-up call and a reopen on the resident's word are the desk's (customer_service);
    // the other moves are the technician's.
    const allowed = (tr) => can(tr === 'follow_up' || tr === 'reopen' ? 'answer' : 'order');
    const buttons = (verifying(o) ? VERIFY : NEXT[o.state] || []).filter(allowed).map((tr) => tr === 'follow_up'
      ? followUp(o)
      : h('button', { type: 'button', class: tr === 'cancel' ? '' : 'primary', dataset: { transition: tr }, onclick: () => move(o, tr, {}) }, label(tr)));
    return h('article', { class: 'order ' + (urgency(o) || '') + ' p-' + (o.priority || ''), dataset: { order: o.id, device: o.device || '' } },
      h('div', { class: 'line1' }, h('b', {}, o.id), o.priority ? badge(o.priority) : null, o.rework ? badge(t('flag.rework'), 'flag') : null),
      h('p', { class: 'msg' }, o.title || o.summary || label(o.category)),
      h('p', { class: 'meta' }, [o.device, o.zone ? t('orders.zone', { zone: o.zone }) : '', o.team ? t('orders.team', { team: o.team }) : '', o.assignee].filter(Boolean).join(' · ')),
      d ? h('p', { class: 'due ' + urgency(o) }, countdown(d)) : null,
      o.desk ? desk(o.desk) : null,
      o.confined_space ? permit(o.permit) : null,
      verifying(o) ? sinceRepair((details.get(o.id) || {}).readings_since_repair) : null,
      h('p', { class: 'meta muted' }, t('orders.updated', { ago: ago(o.updated_at || o.created_at) })),
      buttons.length ? h('div', { class: 'actions' }, buttons) : null,
      note ? h('p', { class: note.error ? 'error note' : 'ok note', role: 'alert' }, note.text) : null);
  }

  // desk is what the customer-service desk took down: channel, kind, home and resident, the
  // 12345 case, the first receiver's answer, the booked visit and the charge.
  function desk(d) {
    const money = (fen) => '¥' + (fen / 100).toFixed(2);
    const v = d.visit;
    const c = d.charge;
    const lines = [
      [t('ch.' + d.channel), t('kind.' + d.kind), d.home, d.resident].filter(Boolean).join(' · '),
      d.hotline ? t('orders.hotline', { case: d.hotline.case }) : '',
      d.answer && !d.answer.answered_at ? t('orders.answer_due', { owner: d.answer.owner }) : t('orders.answered'),
      v ? (v.paused ? t('orders.visit_paused') : t('orders.visit', { from: when(v.window.from), to: when(v.window.to) }) + (v.arrival ? ' · ' + t('orders.arrival.' + v.arrival) : '')) : '',
      c && c.confirmed_at ? t('orders.charged', { amount: money(c.confirmed_fen), quoted: money(c.quoted_fen) }) : c && c.quoted_at ? t('orders.quoted', { amount: money(c.quoted_fen) }) : '',
    ].filter(Boolean);
    return h('p', { class: 'meta desk' }, lines.map((l, i) => [i ? h('br') : null, l]));
  }

  // permit is a confined-space job's permit (有限空间作业): who issued it and when, the
  // attendant, the gas test and whether it allows entry; or that start still needs one.
  function permit(p) {
    if (!p) return h('p', { class: 'meta permit refused' }, t('orders.permit.none'));
    const g = p.readings || {};
    const refused = (p.refused || []).length > 0;
    const lines = [
      t('orders.permit.by', { by: p.issued_by, at: when(p.issued_at), attendant: p.attendant }),
      t('orders.permit.readings', { oxygen: num(g.o2_pct), lel: num(g.lel_pct), sulphide: num(g.h2s_mg_m3), co: num(g.co_mg_m3) }),
      refused ? t('orders.permit.refused', { why: p.refused.join('; ') }) : t('orders.permit.ok'),
    ];
    return h('p', { class: 'meta permit ' + (refused ? 'refused' : 'ok') }, lines.map((l, i) => [i ? h('br') : null, l]));
  }

  // sinceRepair is the device's readings since the repair, point by point, for the supervisor
  // who verifies it (主管对维修过程要进行监督检查): how many, the lowest, highest and latest.
  function sinceRepair(s) {
    if (!s) return null;
    const rows = (s.points || []).map((p) => {
      const vals = (p.values || []).map((v) => v[1]).filter((x) => typeof x === 'number');
      return vals.length
        ? t('orders.since.point', { point: p.point, n: vals.length, min: num(Math.min(...vals)), max: num(Math.max(...vals)), last: num(vals[vals.length - 1]), unit: p.unit || '' })
        : t('orders.since.empty', { point: p.point });
    });
    return h('div', { class: 'meta since-repair' }, h('b', {}, t('orders.since.title', { since: when(s.since) })),
      s.note ? h('p', { class: 'muted' }, s.note) : null,
      rows.length ? h('ul', { class: 'plain' }, rows.map((r) => h('li', {}, r))) : h('p', { class: 'muted' }, t('orders.since.none')));
  }

  // followUp is the call's form: a repair's three points (及时性、服务质量、满意程度), each the
  // resident's answer; a complaint's visit answered satisfied or not.
  function followUp(o) {
    if (o.category === 'complaint') {
      return [h('button', { type: 'button', class: 'primary', onclick: () => move(o, 'follow_up', { satisfied: true }) }, t('orders.satisfied')),
        h('button', { type: 'button', onclick: () => move(o, 'follow_up', { satisfied: false }) }, t('orders.not_satisfied'))];
    }
    const boxes = FOLLOW_UP_POINTS.map((p) => h('input', { type: 'checkbox', checked: true, dataset: { point: p } }));
    return [h('span', { class: 'points' }, FOLLOW_UP_POINTS.map((p, i) => h('label', {}, boxes[i], ' ', t('orders.point.' + p)))),
      h('button', { type: 'button', class: 'primary', dataset: { transition: 'follow_up' },
        onclick: () => move(o, 'follow_up', { points: Object.fromEntries(FOLLOW_UP_POINTS.map((p, i) => [p, boxes[i].checked])) }) }, t('orders.record_follow_up'))];
  }

  async function move(o, tr, extra) {
    try {
      await api('POST', `/api/v1/workorders/${encodeURIComponent(o.id)}/${tr}`, { by: actor(), note: '', ...extra });
      notes.set(o.id, { text: t('orders.done', { action: label(tr) }) });
    } catch (e) {
      notes.set(o.id, { text: t('orders.refused', { error: e.message }), error: true });
    }
    await refresh().catch(() => draw());
  }

  async function drawReport() {
    const month = new Date().toISOString().slice(0, 7);
    // The server's report (the one `facilityd report` writes) is asked for once a minute.
    if (Date.now() - tick > 60000) {
      tick = Date.now();
      served = await optional('GET', '/api/v1/workorders/report?month=' + month).catch(() => null);
    }
    if (served && typeof served.orders === 'number') {
      drawServed(served);
      return;
    }
    // Without the server's report, the month's figures from the orders listed.
    const inMonth = orders.filter((o) => String(o.created_at || '').startsWith(month));
    const count = (key) => {
      const m = new Map();
      for (const o of inMonth) m.set(o[key] || '—', (m.get(o[key] || '—') || 0) + 1);
      return [...m.entries()].sort((a, b) => b[1] - a[1]);
    };
    replace(report, h('h2', {}, t('orders.report_for', { month })),
      h('p', {}, t('orders.month_summary', { n: inMonth.length, rework: inMonth.filter((o) => o.rework).length })),
      h('div', { class: 'grid' },
        h('div', {}, h('h3', {}, t('orders.by_category')), barChart(count('category').map(([k, v]) => [label(k), v]), { title: t('orders.chart_category') })),
        h('div', {}, h('h3', {}, t('orders.by_zone')), barChart(count('zone'), { title: t('orders.chart_zone') }))));
  }

  function drawServed(r) {
    const pct = (n, of) => (of ? Math.round((100 * n) / of) + '%' : '—');
    const dur = (ns) => {
      if (!ns) return '—';
      const m = Math.round(ns / 6e10);
      return m < 60 ? t('span.min', { m }) : t('span.h_min', { h: Math.floor(m / 60), m: m % 60 });
    };
    const kpis = [
      [t('kpi.orders'), r.orders],
      [t('kpi.mean_accept'), dur(r.mean_accept)],
      [t('kpi.mean_repair'), dur(r.mean_repair)],
      [t('kpi.accept_on_time'), pct(r.accept_on_time, r.accepted)],
      [t('kpi.complete_on_time'), pct(r.complete_on_time, r.resolved)],
      [t('kpi.rework_rate'), pct(r.rework, r.repairs)],
      [t('kpi.satisfied'), pct(r.satisfied, r.follow_ups)],
      [t('kpi.pm_on_time'), pct(r.pm_on_time, r.pm_jobs)],
    ];
    const download = h('button', { type: 'button', id: 'report-html' }, t('orders.download'));
    download.addEventListener('click', async () => {
      try {
        const resp = await fetch('/api/v1/workorders/report?format=html&month=' + r.month, { headers: token() ? { Authorization: 'Bearer ' + token() } : {} });
        if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).error || resp.statusText);
        const url = URL.createObjectURL(await resp.blob());
        const a = h('a', { href: url, download: 'workorders-' + r.month + '.html' });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        download.textContent = t('orders.report_unavailable', { error: e.message });
      }
    });
    const rows = (list) => (list || []).map((c) => [label(c.name), c.orders]);
    replace(report, h('div', { class: 'chart-head' }, h('h2', {}, t('orders.report_for', { month: r.month })), download),
      h('div', { class: 'tiles' }, kpis.map(([k, v]) => h('div', { class: 'tile' }, h('b', {}, v), k))),
      h('div', { class: 'grid' },
        h('div', {}, h('h3', {}, t('orders.by_category')), barChart(rows(r.by_category), { title: t('orders.chart_category') })),
        h('div', {}, h('h3', {}, t('orders.by_zone')), barChart(rows(r.by_zone), { title: t('orders.chart_zone') }))));
  }

  return { refresh };
}

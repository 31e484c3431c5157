// device.js: one device for engineering: its communication status, every point's live value
// with unit, enum label and quality, and a chart of one point over the last hours (from
// InfluxDB when facilityd writes to one, else from its in-memory last hour). Beside each point
// the server lists as writable, roles that may write (engineer, admin; everyone in an open
// console) get a switch or a Set button; the write is confirmed in a dialog that names the
// device and the point and asks why, and its result stays beside the point.
import { h, replace, ago, clock, fmtValue, label } from './dom.js';
import { api, ApiError, can } from './api.js';
import { writeDialog, resultLine } from './write.js';
import { lineChart } from './chart.js';
import { t } from './i18n.js';
import { badge, deviceName } from './common.js';

const SPANS = ['15m', '1h', '6h', '24h'];

export function mount(root, [id]) {
  const head = h('section', { class: 'card wide', id: 'device-head' });
  const chartBox = h('section', { class: 'card wide', id: 'chart' });
  const table = h('section', { class: 'card wide', id: 'readings' });
  root.append(h('p', {}, h('a', { href: '#/' }, t('device.back'))), head, chartBox, table);
  let point = sessionStorage.getItem('facilityd.chart.' + id) || '';
  let span = sessionStorage.getItem('facilityd.span') || '1h';
  let lastChart = 0;
  let points = [];
  let writable = new Map(); // point → {type, min, max, integer, unit}
  const results = {}; // point → the record of the last write from this page
  const dialog = writeDialog(root, (rec) => { results[rec.point] = rec; refresh(); });

  async function refresh() {
    let d;
    try {
      d = await api('GET', '/api/v1/devices/' + encodeURIComponent(id));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        replace(head, h('h1', {}, id), h('p', { class: 'error' }, e.message));
        return;
      }
      throw e;
    }
    drawHead(d);
    points = d.readings || [];
    writable = new Map(d.kind === 'fire_panel' || !can('write') ? [] : (d.writable || []).map((w) => [w.point, w]));
    if (!point) {
      const firstNumber = points.find((r) => typeof r.value === 'number' && !r.label) || points.find((r) => typeof r.value !== 'string');
      point = firstNumber ? firstNumber.point : '';
    }
    drawTable(d);
    if (Date.now() - lastChart > 5000) await drawChart();
  }

  function drawHead(d) {
    replace(head,
      h('h1', {}, d.id, ' ', h('small', {}, deviceName(d))),
      h('dl', { class: 'facts' },
        h('dt', {}, t('device.kind')), h('dd', {}, t('device.kind_value', { kind: label(d.kind), profile: d.profile })),
        h('dt', {}, t('device.where')), h('dd', {}, t('device.where_value', { building: d.building || '—', zone: d.zone || '—' }), d.tags && d.tags.location ? ' · ' + d.tags.location : ''),
        h('dt', {}, t('device.comm')), h('dd', { id: 'comm' }, badge(d.comm, 'comm-' + d.comm), ' ', t('device.last_poll', { ago: ago(d.last_poll) }), d.last_ok ? ', ' + t('device.last_good', { ago: ago(d.last_ok) }) : ''),
        h('dt', {}, t('device.polls')), h('dd', {}, t('device.polls_value', { polls: d.polls, failures: d.failures })),
        d.address ? [h('dt', {}, t('device.address')), h('dd', {}, t('device.address_value', { address: d.address, unit: d.unit }))] : null,
        d.last_error ? [h('dt', {}, t('device.last_error')), h('dd', { class: 'error' }, d.last_error)] : null));
  }

  function drawTable(d) {
    const controls = writable.size > 0;
    const rows = points.map((r) => {
      const chartable = typeof r.value !== 'string' || r.quality !== 'good';
      return h('tr', { class: (r.point === point ? 'selected ' : '') + 'q-' + r.quality, dataset: { point: r.point } },
        h('th', {}, label(r.point)),
        h('td', { class: 'value' }, fmtValue(r.value), r.unit ? h('span', { class: 'unit' }, ' ' + r.unit) : null),
        controls ? h('td', { class: 'control' }, control(d, r)) : null,
        h('td', {}, r.label || ''),
        h('td', {}, badge(r.quality, 'q-' + r.quality)),
        h('td', { class: 'muted' }, clock(r.time)),
        h('td', {}, chartable ? h('button', { type: 'button', class: 'small', onclick: () => { point = r.point; sessionStorage.setItem('facilityd.chart.' + id, point); drawTable(d); drawChart(); } }, t('device.chart')) : null));
    });
    replace(table, h('h2', {}, t('device.live_values')),
      rows.length ? h('div', { class: 'scroll' }, h('table', { class: 'readings' },
        h('thead', {}, h('tr', {}, h('th', {}, t('device.col_point')), h('th', {}, t('device.col_value')), controls ? h('th', {}, t('device.col_set')) : null,
          h('th', {}, t('device.col_label')), h('th', {}, t('device.col_quality')), h('th', {}, t('device.col_time')), h('th', {}))),
        h('tbody', {}, rows)))
        : h('p', { class: 'muted' }, t('device.no_values')));
  }

  // control is a writable point's switch (bool) or Set button (number), and the result of
  // the last write to it from this page.
  function control(d, r) {
    const w = writable.get(r.point);
    if (!w) return null;
    const device = { id: d.id, name: deviceName(d) };
    const last = results[r.point] ? resultLine(results[r.point]) : null;
    if (w.type === 'bool') {
      const on = r.value === true;
      return [h('button', { type: 'button', class: 'switch' + (on ? ' on' : ''), role: 'switch', 'aria-checked': on ? 'true' : 'false',
        'aria-label': t(on ? 'device.switch_off' : 'device.switch_on', { point: label(r.point) }),
        onclick: () => dialog.open(device, w, r, !on) }, h('span', { class: 'knob' })), last];
    }
    return [h('button', { type: 'button', class: 'small set', onclick: () => dialog.open(device, w, r) }, t('device.set_button')), last];
  }

  async function drawChart() {
    lastChart = Date.now();
    if (!point) { replace(chartBox, h('p', { class: 'muted' }, t('device.nothing_to_chart'))); return; }
    const pick = h('select', { id: 'span', 'aria-label': t('device.span') }, SPANS.map((s) => h('option', { value: s, selected: s === span }, t('device.last_span', { span: s }))));
    pick.addEventListener('change', () => { span = pick.value; sessionStorage.setItem('facilityd.span', span); drawChart(); });
    let hist;
    try {
      hist = await api('GET', `/api/v1/devices/${encodeURIComponent(id)}/history?point=${encodeURIComponent(point)}&since=${span}`);
    } catch (e) {
      replace(chartBox, h('h2', {}, label(point)), h('p', { class: 'error' }, e.message));
      return;
    }
    replace(chartBox,
      h('div', { class: 'chart-head' }, h('h2', {}, label(point), hist.unit ? ' (' + hist.unit + ')' : ''), pick),
      lineChart(hist.values, { kind: hist.kind, unit: hist.unit, labels: hist.labels, title: point }),
      h('p', { class: 'muted small', id: 'chart-source' }, hist.source === 'influx' ? t('device.from_influx', { n: hist.values.length }) : (hist.note || t('device.from_cache'))));
  }

  return { refresh };
}

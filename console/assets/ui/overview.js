// overview.js: the estate at a glance for engineering: buildings and zones with every device
// and its communication status, devices by kind and status, active alarms by priority, and
// the work orders near or past their deadline.
import { t } from './i18n.js';
import { h, replace, countdown, label } from './dom.js';
import { api, list, optional } from './api.js';
import { PRIORITIES, COMMS, KINDS, alarmActive, badge, orderOpen, urgency, deadline, deviceName } from './common.js';

export function mount(root) {
  const tiles = h('section', { class: 'tiles', id: 'comm-tiles' });
  const kinds = h('section', { class: 'card' });
  const alarmsBox = h('section', { class: 'card', id: 'alarm-summary' });
  const ordersBox = h('section', { class: 'card', id: 'order-summary' });
  const estate = h('section', { class: 'card wide', id: 'estate' });
  kinds.classList.add('wide');
  root.append(h('h1', {}, t('overview.title')), tiles, h('div', { class: 'grid' }, alarmsBox, ordersBox), kinds, estate);

  async function refresh() {
    const [devs, al, wo] = await Promise.all([
      api('GET', '/api/v1/devices').then((d) => list(d, 'devices')),
      optional('GET', '/api/v1/alarms').catch(() => null),
      optional('GET', '/api/v1/workorders').catch(() => null),
    ]);
    drawTiles(devs);
    drawKinds(devs);
    drawAlarms(al);
    drawOrders(wo);
    drawEstate(devs);
  }

  function drawTiles(devs) {
    const by = Object.fromEntries(COMMS.map((c) => [c, 0]));
    for (const d of devs) by[d.comm] = (by[d.comm] || 0) + 1;
    replace(tiles,
      h('div', { class: 'tile' }, h('b', {}, devs.length), t('overview.devices')),
      COMMS.map((c) => h('div', { class: 'tile comm-' + c, dataset: { comm: c } }, h('b', {}, by[c] || 0), label(c))));
  }

  function drawKinds(devs) {
    const present = KINDS.filter((k) => devs.some((d) => d.kind === k));
    const rows = present.map((k) => {
      const of = devs.filter((d) => d.kind === k);
      return h('tr', { dataset: { kind: k } },
        h('th', {}, label(k)),
        h('td', {}, of.length),
        COMMS.map((c) => {
          const n = of.filter((d) => d.comm === c).length;
          return h('td', { class: n && c !== 'online' ? 'comm-' + c : '' }, n || '·');
        }));
    });
    replace(kinds, h('h2', {}, t('overview.by_kind')),
      h('table', { class: 'kinds' },
        h('thead', {}, h('tr', {}, h('th', {}, t('overview.kind')), h('th', {}, t('overview.all')), COMMS.map((c) => h('th', {}, label(c))))),
        h('tbody', {}, rows)));
  }

  function drawAlarms(data) {
    if (data === null) {
      replace(alarmsBox, h('h2', {}, t('overview.active_alarms')), h('p', { class: 'muted' }, t('overview.no_alarms_served')));
      return;
    }
    const active = list(data, 'alarms').filter(alarmActive);
    replace(alarmsBox, h('h2', {}, h('a', { href: '#/alarms' }, t('overview.active_alarms'))),
      h('div', { class: 'prio-row' }, PRIORITIES.map((p) => {
        const n = active.filter((a) => a.priority === p).length;
        return h('a', { href: '#/alarms', class: 'prio-count ' + (n ? p : 'none'), dataset: { priority: p } }, h('b', {}, n), label(p));
      })),
      active.length ? null : h('p', { class: 'muted' }, t('overview.no_active')));
  }

  function drawOrders(data) {
    if (data === null) {
      replace(ordersBox, h('h2', {}, t('overview.orders_due')), h('p', { class: 'muted' }, t('overview.no_orders_served')));
      return;
    }
    const due = list(data, 'orders').filter((o) => orderOpen(o) && urgency(o))
      .sort((a, b) => new Date(deadline(a)) - new Date(deadline(b)));
    replace(ordersBox, h('h2', {}, h('a', { href: '#/orders' }, t('overview.orders_due'))),
      due.length ? h('ul', { class: 'plain' }, due.slice(0, 8).map((o) => h('li', { class: urgency(o) },
        h('b', {}, o.id), ' ', o.title || label(o.category) || '', o.device ? ' · ' + o.device : '', ' · ',
        h('span', { class: 'due ' + urgency(o) }, countdown(deadline(o))))))
        : h('p', { class: 'muted' }, t('overview.none_due')));
  }

  function drawEstate(devs) {
    const buildings = new Map();
    for (const d of devs) {
      const b = d.building || '';
      if (!buildings.has(b)) buildings.set(b, new Map());
      const zones = buildings.get(b);
      const z = d.zone || '';
      if (!zones.has(z)) zones.set(z, []);
      zones.get(z).push(d);
    }
    replace(estate, h('h2', {}, t('overview.estate')),
      [...buildings.entries()].sort().map(([b, zones]) => h('div', { class: 'building' },
        h('h3', {}, b ? t('overview.building', { building: b }) : t('overview.no_building')),
        [...zones.entries()].sort().map(([z, ds]) => h('div', { class: 'zone' },
          h('h4', {}, z ? t('overview.zone', { zone: z }) : t('overview.no_zone')),
          h('div', { class: 'chips' }, ds.map((d) => h('a', {
            class: 'chip comm-' + d.comm, href: '#/device/' + encodeURIComponent(d.id),
            dataset: { kind: d.kind, device: d.id }, title: d.last_error || d.comm,
          }, h('b', {}, d.id), h('span', {}, label(d.kind)), h('small', {}, deviceName(d)), badge(d.comm, 'comm-' + d.comm)))))))));
  }

  return { refresh };
}

// common.js: what several pages share: the order of priorities and comm states, and how to
// read the deadline of a work order.
import { h, label } from './dom.js';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'];
export const COMMS = ['online', 'retrying', 'offline', 'unknown'];
export const KINDS = ['pump', 'elevator', 'fire_panel', 'lighting', 'generic'];

export function rank(p) {
  const i = PRIORITIES.indexOf(p);
  return i < 0 ? PRIORITIES.length : i;
}

export function badge(text, cls) {
  return h('span', { class: 'badge ' + (cls || text) }, label(text));
}

// alarmActive: an alarm still needs people (not back to normal and acknowledged).
export function alarmActive(a) { return a.state && a.state !== 'NORM'; }

// ORDER_OPEN are the work-order states still in someone's hands.
export const ORDER_STATES = ['new', 'accepted', 'in_progress', 'resolved', 'followed_up', 'closed', 'cancelled'];
export function orderOpen(o) { return !['closed', 'cancelled'].includes(o.state); }

// deadline is when the order's current step is due: to accept while new, to complete after,
// the follow-up once resolved.
export function deadline(o) {
  const pick = (...keys) => { for (const k of keys) if (o[k]) return o[k]; return null; };
  switch (o.state) {
    case 'new': return pick('accept_by', 'accept_deadline', 'accept_due', 'deadline', 'due_at', 'due_by');
    case 'resolved': return pick('follow_up_due', 'follow_up_by', 'deadline');
    case 'followed_up': case 'closed': case 'cancelled': return null;
    default: return pick('complete_by', 'complete_deadline', 'due_by', 'deadline', 'due_at');
  }
}

// urgency: 'late' past the deadline, 'soon' within two hours, '' otherwise.
export function urgency(o, now = Date.now()) {
  const d = deadline(o);
  if (!d) return '';
  const ms = new Date(d).getTime() - now;
  if (ms < 0) return 'late';
  if (ms < 2 * 3600e3) return 'soon';
  return '';
}

export function deviceName(d) {
  return (d.tags && (d.tags.name || d.tags.location)) || '';
}

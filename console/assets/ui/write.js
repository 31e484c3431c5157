// write.js: a write to the plant from the console. One dialog per page asks for confirmation,
// naming the device and the point and what the point will be, and for the reason the journal
// keeps; it then waits for the server's answer, which comes after the device's read-back, and
// says how the write ended in words an engineer acts on.
import { h, replace, clock, fmtValue, label } from './dom.js';
import { api, ApiError, actor } from './api.js';
import { badge } from './common.js';

// resultLine is one write's result, as shown beside its point and in the dialog: the result,
// what the device read back or why it failed, who wrote and when.
export function resultLine(rec) {
  let said;
  if (rec.result === 'confirmed' || (rec.result === 'mismatch' && !rec.error)) said = 'reads back ' + fmtValue(rec.read_back);
  else if (rec.error) said = rec.error + (rec.exception ? ' (Modbus exception ' + rec.exception + ')' : '');
  else said = rec.result === 'failed' ? 'the device did not take the write' : rec.result === 'unconfirmed' ? 'written; no read-back in time' : '';
  return h('div', { class: 'result result-' + rec.result, dataset: { result: rec.result } },
    badge(rec.result, 'result-' + rec.result), ' ', said,
    h('span', { class: 'muted small' }, ' · ', rec.by, ', ', clock(rec.done || rec.time)));
}

// writeDialog adds the page's write dialog to root. open(device, writable, reading, target)
// asks to write target (a bool) or a number typed in the dialog; onDone gets the record.
export function writeDialog(root, onDone) {
  const dlg = h('dialog', { id: 'write', class: 'write', 'aria-labelledby': 'write-title' });
  root.append(dlg);

  function open(device, w, r, target) {
    const what = w.type === 'bool' ? (target ? 'on' : 'off') : '';
    const title = w.type === 'bool' ? `Switch ${label(r.point)} ${what}?` : `Set ${label(r.point)}`;
    const range = [w.min, w.max].every((x) => x !== undefined && x !== null) ? `${w.min}–${w.max}` :
      w.min !== undefined && w.min !== null ? `at least ${w.min}` : w.max !== undefined && w.max !== null ? `at most ${w.max}` : '';
    const value = w.type === 'bool' ? null : h('input', {
      id: 'write-value', name: 'value', type: 'number', required: true, inputmode: w.integer ? 'numeric' : 'decimal',
      min: w.min, max: w.max, step: w.integer ? 1 : 'any', value: typeof r.value === 'number' ? r.value : '' });
    const reason = h('input', { id: 'write-reason', name: 'reason', required: true, autocomplete: 'off', placeholder: 'e.g. night round: path dark' });
    const note = h('p', { class: 'note', role: 'status', 'aria-live': 'polite' });
    const go = h('button', { type: 'submit', class: 'primary' }, w.type === 'bool' ? `Switch ${what}` : 'Set');
    const cancel = h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel');
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'write-title' }, title),
      h('p', { class: 'target' }, 'Device ', h('b', {}, device.id), device.name ? ' (' + device.name + ')' : '',
        ', point ', h('b', {}, r.point), ': now ', fmtValue(r.value), r.unit ? ' ' + r.unit : '', '.'),
      value ? h('label', {}, 'New value' + (range ? ' (' + range + (w.unit ? ' ' + w.unit : '') + ')' : ''), value) : null,
      h('label', {}, 'Reason (kept in the journal with your name)', reason),
      note,
      h('div', { class: 'actions' }, cancel, go));
    for (const input of [reason, value]) {
      if (input) input.addEventListener('input', () => { if (note.classList.contains('error')) { note.className = 'note'; note.textContent = ''; } });
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!reason.value.trim()) { note.className = 'note error'; note.textContent = 'Say why: the journal keeps the reason.'; reason.focus(); return; }
      let v = target;
      if (value) {
        if (!value.checkValidity() || value.value === '') { note.className = 'note error'; note.textContent = 'Give a value' + (range ? ' ' + range : '') + '.'; value.focus(); return; }
        v = Number(value.value);
      }
      go.disabled = true; cancel.disabled = true;
      note.className = 'note'; note.textContent = 'Writing… waiting for the device to read it back.';
      try {
        const rec = await api('POST', `/api/v1/devices/${encodeURIComponent(device.id)}/points/${encodeURIComponent(r.point)}`,
          { value: v, reason: reason.value.trim(), by: actor() });
        done(rec);
      } catch (e) {
        // A failed write (502) is answered with its record: show it as a result.
        if (e instanceof ApiError && e.status === 502 && e.data && e.data.result) { done(e.data); return; }
        note.className = 'note error'; note.textContent = e.message;
        go.disabled = false; cancel.disabled = false;
      }
    });
    function done(rec) {
      reason.disabled = true;
      if (value) value.disabled = true;
      replace(note, resultLine(rec));
      note.className = 'note';
      go.remove();
      cancel.disabled = false; cancel.textContent = 'Close';
      cancel.focus();
      onDone(rec);
    }
    replace(dlg, form);
    dlg.showModal();
    (value || reason).focus();
  }

  return { open };
}

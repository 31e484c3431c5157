// write.js: a write to the plant from the console. One dialog per page asks for confirmation,
// naming the device and the point and what the point will be, and for the reason the journal
// keeps; it then waits for the server's answer, which comes after the device's read-back, and
// says how the write ended in words an engineer acts on.
import { h, replace, clock, fmtValue, label } from './dom.js';
import { api, ApiError, actor } from './api.js';
import { badge } from './common.js';
import { t } from './i18n.js';

// resultLine is one write's result, as shown beside its point and in the dialog: the result,
// what the device read back or why it failed, who wrote and when.
export function resultLine(rec) {
  let said;
  if (rec.result === 'confirmed' || (rec.result === 'mismatch' && !rec.error)) said = t('write.reads_back', { value: fmtValue(rec.read_back) });
  else if (rec.error) said = rec.exception ? t('write.exception', { error: rec.error, code: rec.exception }) : rec.error;
  else said = rec.result === 'failed' ? t('write.not_taken') : rec.result === 'unconfirmed' ? t('write.no_readback') : '';
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
    const pt = { point: label(r.point) };
    const title = w.type !== 'bool' ? t('write.title_set', pt) : t(target ? 'write.title_switch_on' : 'write.title_switch_off', pt);
    const has = (x) => x !== undefined && x !== null;
    const range = has(w.min) && has(w.max) ? t('write.range_both', { min: w.min, max: w.max }) :
      has(w.min) ? t('write.range_min', { min: w.min }) : has(w.max) ? t('write.range_max', { max: w.max }) : '';
    const value = w.type === 'bool' ? null : h('input', {
      id: 'write-value', name: 'value', type: 'number', required: true, inputmode: w.integer ? 'numeric' : 'decimal',
      min: w.min, max: w.max, step: w.integer ? 1 : 'any', value: typeof r.value === 'number' ? r.value : '' });
    const reason = h('input', { id: 'write-reason', name: 'reason', required: true, autocomplete: 'off', placeholder: t('write.reason_placeholder') });
    const note = h('p', { class: 'note', role: 'status', 'aria-live': 'polite' });
    const go = h('button', { type: 'submit', class: 'primary' }, w.type !== 'bool' ? t('write.go_set') : t(target ? 'write.go_on' : 'write.go_off'));
    const cancel = h('button', { type: 'button', onclick: () => dlg.close() }, t('write.cancel'));
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'write-title' }, title),
      h('p', { class: 'target' }, t('write.target', { device: device.id + (device.name ? ' (' + device.name + ')' : ''),
        point: r.point, value: fmtValue(r.value) + (r.unit ? ' ' + r.unit : '') })),
      value ? h('label', {}, range ? t('write.new_value_range', { range: range + (w.unit ? ' ' + w.unit : '') }) : t('write.new_value'), value) : null,
      h('label', {}, t('write.reason'), reason),
      note,
      h('div', { class: 'actions' }, cancel, go));
    for (const input of [reason, value]) {
      if (input) input.addEventListener('input', () => { if (note.classList.contains('error')) { note.className = 'note'; note.textContent = ''; } });
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!reason.value.trim()) { note.className = 'note error'; note.textContent = t('write.say_why'); reason.focus(); return; }
      let v = target;
      if (value) {
        if (!value.checkValidity() || value.value === '') { note.className = 'note error'; note.textContent = t('write.give_value', { range }); value.focus(); return; }
        v = Number(value.value);
      }
      go.disabled = true; cancel.disabled = true;
      note.className = 'note'; note.textContent = t('write.writing');
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
      cancel.disabled = false; cancel.textContent = t('write.close');
      cancel.focus();
      onDone(rec);
    }
    replace(dlg, form);
    dlg.showModal();
    (value || reason).focus();
  }

  return { open };
}

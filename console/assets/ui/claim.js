// claim.js: the page a claim link opens on a guard's phone (#/patrol/A17?claim=TOKEN, from the
// alert's SMS). The token names one alert and one guard and is the only credential: the page
// shows the alert and claims it in that guard's name with one tap, without a sign-in. Opening
// the link claims nothing by itself, so a preview fetched by a messaging app never does.
import { t } from './i18n.js';
import { h, replace } from './dom.js';
import { api } from './api.js';
import { badge } from './common.js';

// match reads a claim link's hash: [alert, token], or null.
export function match(hash) {
  const m = hash.match(/^#\/patrol\/([^?]+)\?claim=([A-Za-z0-9_.-]+)$/);
  return m ? [decodeURIComponent(m[1]), m[2]] : null;
}

export async function show(view, token) {
  const path = '/api/v1/patrol/links/' + encodeURIComponent(token);
  let link;
  try {
    link = await api('GET', path);
  } catch (e) {
    replace(view, h('section', { class: 'claim-link' }, h('h1', {}, t('link.title')), h('p', { class: 'error', role: 'alert' }, t('link.invalid', { error: e.message }))));
    return;
  }
  const a = link.alert;
  const status = h('p', { id: 'link-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'primary big', id: 'link-claim' }, t('link.claim', { name: link.guard.name || link.guard.id }));
  const render = (alert) => {
    if (alert.owner === link.guard.id) {
      status.textContent = t('link.yours');
      button.hidden = true;
    } else if (alert.owner) {
      status.textContent = t('link.taken', { owner: alert.owner });
      button.hidden = true;
    }
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      render(await api('POST', path + '/claim', {}));
    } catch (e) {
      status.textContent = e.status === 409 && e.data ? t('link.taken', { owner: e.data.owner }) : e.message;
      button.disabled = false;
    }
  });
  replace(view, h('section', { class: 'claim-link' },
    h('h1', {}, t('link.title')),
    h('p', {}, badge(a.priority), ' ', h('strong', { id: 'link-alert' }, a.id), ' ', a.message),
    h('p', {}, t('link.for', { name: link.guard.name || link.guard.id })),
    button, status));
  render(a);
}

// The screens around the hearing: the join code at the door, and the cards shown when the
// page stops (refused, token, replaced) or the participant's part is over (excused, removed,
// left). `ctx` is the app's: {S, render, onSession(session)}.

import { openSession } from './api.js';
import { h, replace } from './dom.js';
import { t } from './i18n.js';

export function messageCard(testid, titleKey, bodyKey, extra = []) {
  return h('section', { class: 'card narrow', testid },
    h('h1', { text: t(titleKey) }),
    h('p', { class: 'lead', text: t(bodyKey) }),
    ...extra);
}

export function renderCode(root, ctx) {
  const { S } = ctx;
  const input = h('input', {
    id: 'code', name: 'code', class: 'code-input', type: 'text', inputmode: 'numeric',
    autocomplete: 'one-time-code', pattern: '[0-9]*', maxlength: 8, required: true,
    'aria-describedby': 'code-error', testid: 'code-input', spellcheck: 'false',
  });
  const error = h('p', { id: 'code-error', class: 'notice error', role: 'alert', testid: 'code-error' });
  if (S.codeError) error.textContent = t(`code.${S.codeError.kind}`, { reason: S.codeError.reason ?? '' });
  else error.hidden = true;
  const submit = h('button', { class: 'btn primary big', type: 'submit', testid: 'code-submit',
    text: t(S.busy ? 'code.checking' : 'code.submit'), disabled: S.busy });
  const form = h('form', { class: 'code-form', novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    submitCode(ctx, input.value);
  } },
  h('label', { for: 'code', text: t('code.label') }), input, error, submit);
  replace(root, h('section', { class: 'card narrow', testid: 'screen-code' },
    h('h1', { text: t('code.title') }),
    h('p', { class: 'lead', text: t('code.lead') }),
    form));
  // Keep what was typed, so a typo can be spotted; select it so retyping replaces it.
  input.value = S.lastCode ?? '';
  if (!S.busy) {
    input.focus();
    input.select();
  }
}

export async function submitCode(ctx, raw) {
  const { S, render } = ctx;
  const code = raw.replace(/\s+/g, '');
  S.lastCode = code;
  if (!/^\d{8}$/.test(code)) {
    S.codeError = { kind: 'format' };
    render();
    return;
  }
  S.busy = true;
  S.codeError = null;
  render();
  const res = await openSession(S.hearingId, S.participantId, code);
  S.busy = false;
  if (!res.ok) {
    S.codeError = { kind: res.kind, reason: res.reason };
    render();
    return;
  }
  ctx.onSession(res.session);
  S.lastCode = null; // a used code is of no more use, and is not kept
  S.screen = 'selftest';
  render();
}

export function stoppedCard(ctx) {
  const d = ctx.S.stopDetail || {};
  let key = 'refused';
  if (d.why === 'refused' && (d.code === 'dismissed' || d.code === 'removed')) key = d.code;
  else if (d.why === 'token') key = 'token';
  else if (d.why === 'replaced') key = 'replaced';
  else if (d.why === 'protocol') key = 'protocol';
  const body = h('p', { class: 'lead', text: t(`stop.${key}.body`, { reason: d.reason || d.code || '' }) });
  const actions = [];
  if (key === 'token' || key === 'refused') {
    actions.push(h('div', { class: 'actions' }, h('button', {
      class: 'btn secondary', type: 'button', testid: 'new-code', text: t('stop.newCode'),
      onclick: () => resetToCode(ctx),
    })));
  }
  return h('section', { class: 'card narrow stopped', testid: 'screen-stopped', dataset: { reason: key } },
    h('h1', { text: t(`stop.${key}.title`) }), body, ...actions);
}

function resetToCode({ S, render }) {
  S.conn = null;
  S.me = null;
  S.view = null;
  S.stopDetail = null;
  S.connStatus = 'idle';
  S.codeError = null;
  S.lastCode = null;
  S.screen = 'code';
  render();
}

export function exitCard(presence) {
  const extra = [h('p', { class: 'muted', text: t('exit.close') })];
  if (presence === 'dismissed') extra.unshift(h('p', { text: t('exit.dismissed.again') }));
  return h('section', { class: 'card narrow exit', testid: 'screen-exit', dataset: { presence } },
    h('h1', { text: t(`exit.${presence}.title`) }),
    h('p', { class: 'lead', text: t(`exit.${presence}.body`) }),
    ...extra);
}

// Kiosk mode (join.html?kiosk=1&h=<hearing>&p=<the kiosk supervisor>): a shared terminal at
// a court. The supervisor signs in with their own code (their own websocket, so the bench
// sees the supervisor is there), attests that they checked the identity document of the
// person at the terminal (a checkbox: no name or document number is typed, sent or kept),
// types that participant's ID and join code, and the kiosk hosts that participant's session.
// "End session" closes the participant's peer and socket, stops camera and microphone, clears
// the page, memory and any storage, and returns here.

import { openSession } from './api.js';
import { CourtConnection } from './connection.js';
import { h, replace } from './dom.js';
import { t } from './i18n.js';

export function newKiosk() {
  const params = new URLSearchParams(location.search);
  return {
    supervisorId: params.get('p'),
    stage: 'signin', // 'signin' | 'attest'
    conn: null,
    name: '',
    error: null,
    busy: false,
    attested: false,
    participant: '',
    code: '',
    confirmEnd: false,
  };
}

export function afterReset(K) {
  Object.assign(K, { stage: K.conn ? 'attest' : 'signin', attested: false, participant: '', code: '', error: null,
    busy: false, confirmEnd: false });
}

/** After a hosted session: this browser keeps nothing of it (storage and cookies). */
export function clearBrowserStorage() {
  try { localStorage.clear(); } catch { /* none */ }
  try { sessionStorage.clear(); } catch { /* none */ }
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0].trim();
    if (name) document.cookie = `${name}=; Max-Age=0; path=/`;
  }
}

/** A participant ID, or a whole join link (`…?h=…&p=…`) pasted by the supervisor. */
function participantFrom(raw) {
  const s = raw.trim();
  try {
    const u = new URL(s);
    return u.searchParams.get('p');
  } catch {
    return /^[A-Za-z0-9_-]{1,64}$/.test(s) ? s : null;
  }
}

function signOut(K, render) {
  K.conn?.stop({ why: 'ended' });
  K.conn = null;
  K.name = '';
  K.stage = 'signin';
  K.error = null;
  render();
}

async function signIn(ctx, code) {
  const { S, render } = ctx;
  const K = S.kiosk;
  if (!/^\d{8}$/.test(code)) {
    K.error = t('code.format');
    render();
    return;
  }
  K.busy = true;
  K.error = null;
  render();
  const res = await openSession(S.hearingId, K.supervisorId, code);
  if (!res.ok) {
    K.busy = false;
    K.error = t(`code.${res.kind}`, { reason: res.reason ?? '' });
    render();
    return;
  }
  if (res.session.role && res.session.role !== 'kiosk_supervisor') {
    K.busy = false;
    K.error = t('kiosk.notSupervisor');
    render();
    return;
  }
  K.conn = new CourtConnection({
    token: res.session.token,
    onStatus: (status, detail) => {
      if (status === 'stopped' && K.conn) {
        K.conn = null;
        K.stage = 'signin';
        K.error = t('kiosk.supervisorStopped', { reason: detail?.reason || detail?.code || detail?.why || '' });
      }
      render();
    },
    onMessage: (msg) => {
      if (msg.type === 'welcome' || msg.type === 'state') {
        const me = msg.state?.participants?.find((p) => p.participant_id === K.supervisorId);
        if (me) K.name = me.display_name;
        if (msg.type === 'welcome') {
          K.busy = false;
          if (msg.role !== 'kiosk_supervisor') {
            K.error = t('kiosk.notSupervisor');
            signOut(K, render);
            return;
          }
          K.stage = 'attest';
        }
        if (S.screen === 'kiosk') render();
      }
    },
  });
  K.conn.start();
}

/** The supervisor's screens: sign in, then attest and start a participant's session. */
export function renderSupervisor(root, ctx) {
  const { S, render } = ctx;
  const K = S.kiosk;
  const error = K.error ? h('p', { class: 'notice error', role: 'alert', testid: 'kiosk-error', text: K.error }) : null;
  if (K.stage === 'signin') {
    const input = h('input', { id: 'kiosk-code', class: 'code-input', type: 'password', inputmode: 'numeric',
      autocomplete: 'off', maxlength: 8, testid: 'kiosk-supervisor-code' });
    return replace(root, h('section', { class: 'card narrow', testid: 'screen-kiosk-signin' },
      h('p', { class: 'kicker', text: t('kiosk.kicker') }),
      h('h1', { text: t('kiosk.signinTitle') }),
      h('p', { class: 'lead', text: t('kiosk.signinLead') }),
      h('form', { novalidate: true, onsubmit: (ev) => { ev.preventDefault(); signIn(ctx, input.value.replace(/\s+/g, '')); } },
        h('label', { for: 'kiosk-code', text: t('kiosk.supervisorCode') }), input, error,
        h('button', { class: 'btn primary big', type: 'submit', testid: 'kiosk-signin', disabled: K.busy,
          text: t(K.busy ? 'code.checking' : 'kiosk.signin') }))));
  }
  const check = h('input', { type: 'checkbox', id: 'kiosk-attest', testid: 'kiosk-attest' });
  check.checked = K.attested;
  check.addEventListener('change', () => {
    K.attested = check.checked;
    if (K.attested && K.error === t('kiosk.attestFirst')) { K.error = null; render(); }
  });
  const who = h('input', { id: 'kiosk-participant', class: 'text-input', type: 'text', autocomplete: 'off',
    spellcheck: 'false', testid: 'kiosk-participant' });
  who.value = K.participant;
  who.addEventListener('input', () => { K.participant = who.value; });
  const code = h('input', { id: 'kiosk-pcode', class: 'code-input', type: 'text', inputmode: 'numeric',
    autocomplete: 'off', maxlength: 8, testid: 'kiosk-participant-code' });
  code.value = K.code;
  code.addEventListener('input', () => { K.code = code.value; });
  const start = (ev) => {
    ev.preventDefault();
    if (!K.attested) { K.error = t('kiosk.attestFirst'); render(); return; }
    const pid = participantFrom(K.participant);
    if (!pid) { K.error = t('kiosk.badParticipant'); render(); return; }
    if (pid === K.supervisorId) { K.error = t('kiosk.notYourself'); render(); return; }
    const c = K.code.replace(/\s+/g, '');
    if (!/^\d{8}$/.test(c)) { K.error = t('code.format'); render(); return; }
    K.error = null;
    K.participant = '';
    K.code = '';
    ctx.startParticipant(pid, c);
  };
  return replace(root, h('section', { class: 'card narrow', testid: 'screen-kiosk-attest' },
    h('p', { class: 'kicker', text: t('kiosk.kicker') }),
    h('h1', { text: t('kiosk.attestTitle') }),
    h('p', { class: 'whoami', testid: 'kiosk-supervisor', text: t('kiosk.signedInAs', { name: K.name }) }),
    h('form', { novalidate: true, onsubmit: start },
      h('label', { class: 'check' }, check, h('span', { text: t('kiosk.attest') })),
      h('p', { class: 'small muted', text: t('kiosk.attestNote') }),
      h('label', { for: 'kiosk-participant', text: t('kiosk.participant') }), who,
      h('label', { for: 'kiosk-pcode', text: t('kiosk.participantCode') }), code,
      error,
      h('button', { class: 'btn primary big', type: 'submit', testid: 'kiosk-start', text: t('kiosk.start') })),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn link', testid: 'kiosk-signout',
      text: t('kiosk.signout'), onclick: () => signOut(K, render) }))));
}

/** The bar above a hosted session: who supervises, and "end session". */
export function renderBar(bar, ctx) {
  const { S, render } = ctx;
  const K = S.kiosk;
  if (!K || S.screen === 'kiosk') {
    bar.hidden = true;
    bar.replaceChildren();
    return;
  }
  bar.hidden = false;
  const end = K.confirmEnd
    ? [h('span', { class: 'kiosk-confirm', text: t('kiosk.endConfirmText') }),
      h('button', { type: 'button', class: 'btn danger', testid: 'kiosk-end-confirm', text: t('kiosk.endConfirm'),
        onclick: () => { K.confirmEnd = false; ctx.endSession(); } }),
      h('button', { type: 'button', class: 'btn secondary', text: t('console.cancel'),
        onclick: () => { K.confirmEnd = false; render(); } })]
    : [h('button', { type: 'button', class: 'btn secondary', testid: 'kiosk-end', text: t('kiosk.end'),
      onclick: () => { K.confirmEnd = true; render(); } })];
  replace(bar, h('span', { class: 'kiosk-label', text: t('kiosk.bar', { name: K.name }) }), ...end);
}

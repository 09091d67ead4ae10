// The participant app (join.html): join code → device self-test → the hearing websocket,
// then a screen chosen by the participant's presence as the server reports it. Judges and
// clerks get the console (console.js). The page decides nothing about who may see what.

import { openSession } from './api.js';
import { CourtConnection } from './connection.js';
import { renderConsole } from './console.js';
import { h, replace } from './dom.js';
import { applyStatic, onLangChange, t, toggleLang } from './i18n.js';
import { createMedia } from './media.js';
import { renderSelfTest } from './selftest.js';

const STAFF = new Set(['judge', 'clerk']);
const OUT = new Set(['dismissed', 'removed', 'left']);

const params = new URLSearchParams(location.search);
const S = {
  hearingId: params.get('h'),
  participantId: params.get('p'),
  screen: 'code',
  codeError: null,
  busy: false,
  conn: null,
  connStatus: 'idle',
  stopDetail: null,
  me: null, // {participant_id, role}
  view: null, // the latest `state` from the server
  status: null, // welcome.status
  alerts: [], // newest first: {key, params, at, kind}
  notice: null, // the participant's last refused action
  ui: { confirmLeave: false, confirmClose: false, reopenReason: '' },
};
let session = null; // {token, role, ...} between the code and the websocket — memory only
let stopSelfTest = null;
let media = null;

const root = document.getElementById('app');
const connBadge = document.getElementById('conn');
const caseLine = document.getElementById('case-line');

// ---------------------------------------------------------------- helpers

export function personName(id) {
  const p = S.view?.participants?.find((x) => x.participant_id === id);
  return p ? p.display_name : id;
}

function myEntry() {
  return S.view?.participants?.find((p) => p.participant_id === S.me?.participant_id) ?? null;
}

function addAlert(key, p = {}, kind = 'warn') {
  S.alerts.unshift({ key, params: p, kind, at: new Date() });
  S.alerts.length = Math.min(S.alerts.length, 50);
}

function cmdLabel(name) {
  const key = `cmd.${name}`;
  return t(key) === key ? name : t(key);
}

/** A refusal in the reader's language, with the server's own words for the record. */
function refusalText(code, reason) {
  const key = `refusal.${code}`;
  const label = t(key);
  if (label === key) return reason || code || '';
  return reason ? `${label}（${reason}）` : label;
}

function accessText(reason) {
  const key = `access.${reason}`;
  return t(key) === key ? reason : t(key);
}

// Alert parameters are kept raw and put into words when shown, so a language switch
// re-words old alerts too.
export function alertText(alert) {
  const p = { ...alert.params };
  if (p.command !== undefined) p.command = cmdLabel(p.command);
  if (p.refusal !== undefined) p.reason = refusalText(p.refusal, p.reason);
  if (p.access !== undefined) p.reason = accessText(p.access);
  return t(alert.key, p);
}

/** Send a command; a refusal is shown (alerts for the bench, a notice for everyone else). */
async function run(name, args = {}) {
  if (!S.conn) return { ok: false };
  const res = await S.conn.command(name, args);
  if (!res.ok) {
    let entry;
    if (res.code === 'not_connected') entry = ['alert.notConnected', { command: name }];
    else if (res.code === 'timeout') entry = ['alert.timeout', { command: name }];
    else entry = ['alert.myResult', { command: name, refusal: res.code, reason: res.reason }];
    if (isStaff()) addAlert(entry[0], entry[1], 'mine');
    else S.notice = { key: entry[0], params: entry[1] };
    render();
  }
  return res;
}

function isStaff() {
  return STAFF.has(S.me?.role ?? session?.role);
}

// ---------------------------------------------------------------- the connection

function connect() {
  const token = session.token;
  session = { ...session, token: null }; // the connection owns the token from here on
  S.conn = new CourtConnection({
    token,
    onStatus: (status, detail) => {
      S.connStatus = status;
      if (status === 'stopped') S.stopDetail = detail;
      render();
    },
    onMessage: (msg) => {
      handleMessage(msg);
      // Excused, removed or left: this session is over; stop before the server closes.
      if (OUT.has(myEntry()?.presence) && S.conn && S.conn.status !== 'stopped') {
        media?.close();
        S.conn.stop({ why: 'ended' });
        return; // stop() rendered
      }
      render();
    },
  });
  media = createMedia({ sendSignal: (data) => S.conn?.signal(data) });
  S.screen = 'live';
  render();
  S.conn.start();
}

function handleMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      S.me = { participant_id: msg.participant_id, role: msg.role };
      S.view = msg.state;
      S.status = msg.status ?? null;
      break;
    case 'state':
      S.view = msg.state;
      break;
    case 'event':
      onEvent(msg);
      break;
    case 'signal':
      media?.handleSignal(msg.data);
      break;
    case 'error':
      if (isStaff()) addAlert('alert.error', { message: `${msg.code}: ${msg.message}` });
      break;
    default:
      break;
  }
}

function onEvent(msg) {
  const ev = msg.event;
  if (!isStaff()) return;
  if (ev.type === 'command_rejected' && msg.actor !== S.me?.participant_id) {
    addAlert('alert.rejected', { who: personName(msg.actor), command: ev.command, refusal: ev.code, reason: ev.reason });
  } else if (ev.type === 'access_refused') {
    addAlert('alert.refused', { who: personName(ev.participant), access: ev.reason }, 'security');
  }
}

// A live session is lost on reload (nothing is stored), so warn before leaving the page.
function beforeUnload(ev) {
  ev.preventDefault();
  ev.returnValue = '';
}
function guardUnload(on) {
  if (on) window.addEventListener('beforeunload', beforeUnload);
  else window.removeEventListener('beforeunload', beforeUnload);
}

// ---------------------------------------------------------------- rendering

function render() {
  applyStatic();
  renderBadge();
  renderCaseLine();
  if (S.screen !== 'selftest' && stopSelfTest) {
    stopSelfTest();
    stopSelfTest = null;
  }
  const live = S.screen === 'live' && S.connStatus !== 'stopped' && !OUT.has(myEntry()?.presence);
  guardUnload(live);
  document.body.dataset.screen = S.screen;
  const netBanner = document.getElementById('net-banner');
  netBanner.hidden = S.connStatus !== 'reconnecting';
  netBanner.textContent = t('reconnect.banner');
  document.body.classList.toggle('reconnecting', S.connStatus === 'reconnecting');
  document.body.classList.toggle('console', S.screen === 'live' && isStaff() && !!S.me);
  switch (S.screen) {
    case 'badlink':
      return replace(root, messageCard('screen-badlink', 'link.badTitle', 'link.badBody'));
    case 'code':
      return renderCode();
    case 'selftest':
      if (!stopSelfTest) stopSelfTest = renderSelfTest(root, { onDone: connect });
      return undefined;
    case 'live':
      return renderLive();
    default:
      return undefined;
  }
}

function renderBadge() {
  let state = S.connStatus;
  if (state === 'stopped') {
    const why = S.stopDetail?.why;
    state = why === 'ended' || OUT.has(myEntry()?.presence) ? 'ended' : 'refused';
  }
  connBadge.dataset.state = state;
  connBadge.hidden = state === 'idle';
  connBadge.textContent = t(`conn.${state}`);
}

function renderCaseLine() {
  const hearing = S.view?.hearing;
  const presence = myEntry()?.presence;
  if (!hearing) {
    caseLine.textContent = '';
    return;
  }
  // Outside the hearing, say no more than which court this is.
  const inside = isStaff() || presence === 'in_hearing';
  caseLine.textContent = inside
    ? [hearing.court, hearing.case_number, hearing.title].filter(Boolean).join(' · ')
    : hearing.court;
}

function messageCard(testid, titleKey, bodyKey, extra = []) {
  return h('section', { class: 'card narrow', testid },
    h('h1', { text: t(titleKey) }),
    h('p', { class: 'lead', text: t(bodyKey) }),
    ...extra);
}

function renderCode() {
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
    submitCode(input.value);
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

async function submitCode(raw) {
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
  session = res.session;
  S.lastCode = null; // a used code is of no more use, and is not kept
  S.screen = 'selftest';
  render();
}

function renderLive() {
  if (!S.me) {
    // Before the welcome, or refused at the door.
    if (S.connStatus === 'stopped') return replace(root, stoppedCard());
    return replace(root, h('section', { class: 'card narrow', testid: 'screen-connecting' },
      h('p', { class: 'lead', text: t('conn.connecting') })));
  }
  const me = myEntry();
  const presence = me?.presence;
  if (OUT.has(presence)) return replace(root, exitCard(presence));
  if (S.connStatus === 'stopped') return replace(root, stoppedCard());
  if (isStaff()) return renderConsole(root, consoleContext());
  if (presence === 'in_hearing') return replace(root, hearingView(me));
  if (presence === 'waiting_room') return replace(root, waitingRoom(me));
  return replace(root, lobby(me));
}

function stoppedCard() {
  const d = S.stopDetail || {};
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
      onclick: resetToCode,
    })));
  }
  return h('section', { class: 'card narrow stopped', testid: 'screen-stopped', dataset: { reason: key } },
    h('h1', { text: t(`stop.${key}.title`) }), body, ...actions);
}

function resetToCode() {
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

function exitCard(presence) {
  const extra = [h('p', { class: 'muted', text: t('exit.close') })];
  if (presence === 'dismissed') extra.unshift(h('p', { text: t('exit.dismissed.again') }));
  return h('section', { class: 'card narrow exit', testid: 'screen-exit', dataset: { presence } },
    h('h1', { text: t(`exit.${presence}.title`) }),
    h('p', { class: 'lead', text: t(`exit.${presence}.body`) }),
    ...extra);
}

function whoAmI(me) {
  return h('p', { class: 'whoami', testid: 'whoami',
    text: t('you.are', { name: me?.display_name ?? '', role: t(`role.${S.me.role}`) }) });
}

function lobby(me) {
  return h('section', { class: 'card narrow', testid: 'screen-lobby' },
    h('div', { class: 'spinner', 'aria-hidden': 'true' }),
    h('h1', { text: t('lobby.title') }),
    whoAmI(me),
    h('p', { class: 'lead', text: t('lobby.body') }),
    h('p', { class: 'muted', text: t('lobby.hint') }));
}

function waitingRoom(me) {
  const rules = ['waiting.rule1', 'waiting.rule2', 'waiting.rule3', 'waiting.rule4', 'waiting.rule5'];
  return h('section', { class: 'card narrow', testid: 'screen-waiting' },
    h('h1', { text: t('waiting.title') }),
    whoAmI(me),
    h('p', { class: 'lead', text: t('waiting.body') }),
    h('div', { class: 'video-slot', testid: 'supervision-slot', 'aria-label': t('waiting.supervision') },
      h('span', { class: 'slot-label', text: t('waiting.supervision') }),
      h('span', { class: 'slot-empty', text: t('waiting.supervisionNone') })),
    h('h2', { text: t('waiting.rulesTitle') }),
    h('ol', { class: 'rules' }, rules.map((k) => h('li', { text: t(k) }))),
    noticeLine());
}

function noticeLine() {
  if (!S.notice) return null;
  return h('p', { class: 'notice error', role: 'alert', testid: 'notice', text: alertText(S.notice) });
}

export function muteControls(me, { compact = false } = {}) {
  const kinds = [
    ['audio', 'hearing.mic', 'hearing.muteMic', 'hearing.unmuteMic'],
    ['video', 'hearing.cam', 'hearing.muteCam', 'hearing.unmuteCam'],
  ];
  return h('div', { class: `mute-controls${compact ? ' compact' : ''}` }, kinds.map(([kind, label, off, on]) => {
    const muted = me?.self_muted?.includes(kind);
    const cut = me?.cut?.includes(kind);
    return h('button', {
      type: 'button', class: `btn toggle ${muted || cut ? 'is-off' : 'is-on'}`, testid: `self-mute-${kind}`,
      'aria-pressed': muted ? 'true' : 'false', dataset: { muted: muted ? 'true' : 'false' }, disabled: cut,
      onclick: () => { media?.setMuted(kind, !muted); run('set_self_mute', { kind, muted: !muted }); },
    },
    h('span', { class: 'toggle-label', text: `${t(label)}: ${t(muted || cut ? 'hearing.off' : 'hearing.on')}` }),
    h('span', { class: 'toggle-action', text: cut ? t('hearing.cutByJudge') : t(muted ? on : off) }));
  }));
}

function hearingView(me) {
  const people = S.view.participants.filter((p) => p.presence === 'in_hearing');
  const leave = S.ui.confirmLeave
    ? h('div', { class: 'actions' },
      h('button', { class: 'btn danger', type: 'button', testid: 'leave-confirm', text: t('hearing.leaveConfirm'),
        onclick: async () => {
          S.ui.confirmLeave = false;
          const res = await run('leave');
          if (res.ok) S.conn?.stop({ why: 'ended' });
        } }),
      h('button', { class: 'btn secondary', type: 'button', text: t('hearing.leaveCancel'),
        onclick: () => { S.ui.confirmLeave = false; render(); } }))
    : h('div', { class: 'actions' }, h('button', { class: 'btn secondary', type: 'button', testid: 'leave',
      text: t('hearing.leave'), onclick: () => { S.ui.confirmLeave = true; render(); } }));
  return h('section', { class: 'card narrow hearing', testid: 'screen-hearing' },
    h('h1', { text: t('hearing.title') }),
    whoAmI(me),
    h('p', { class: 'phase-line' }, `${t('hearing.phase')}: `,
      h('strong', { testid: 'phase', text: t(`phase.${S.view.hearing.phase}`) })),
    h('div', { class: 'video-slot', testid: 'hearing-video-slot' },
      h('span', { class: 'slot-empty', text: t('hearing.mediaPending') })),
    h('h2', { text: t('hearing.myMedia') }),
    muteControls(me),
    noticeLine(),
    h('h2', { text: t('hearing.participants') }),
    h('ul', { class: 'people', testid: 'hearing-participants' }, people.map((p) => h('li', {},
      h('span', { class: 'name', text: p.display_name }),
      h('span', { class: 'role', text: t(`role.${p.role}`) }),
      p.connected ? null : h('span', { class: 'tag', text: t('offline') })))),
    leave);
}

function consoleContext() {
  return { S, run, render, personName, muteControls, myEntry, alertText };
}

// ---------------------------------------------------------------- start

for (const btn of document.querySelectorAll('[data-lang-switch]')) {
  btn.addEventListener('click', () => toggleLang());
}
onLangChange(() => {
  if (S.screen === 'selftest' && stopSelfTest) {
    stopSelfTest();
    stopSelfTest = null;
  }
  render();
});
// For tests and support staff: drop the socket as a network blip would. Exposes no token.
window.__courtroomTest = Object.freeze({ dropSocket: () => S.conn?.ws?.close() });

if (!S.hearingId || !S.participantId) S.screen = 'badlink';
render();

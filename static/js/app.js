// The participant app (join.html): join code → device self-test → the hearing websocket,
// then a screen chosen by the participant's presence as the server reports it. Judges and
// clerks get the console (console.js). The page decides nothing about who may see what.

import { openSession } from './api.js';
import { CourtConnection } from './connection.js';
import { renderConsole, updateQuality } from './console.js';
import { h, replace } from './dom.js';
import { exhibitsPanel } from './exhibits.js';
import { applyStatic, onLangChange, t, toggleLang } from './i18n.js';
import { createMedia } from './media.js';
import { renderSelfTest } from './selftest.js';
import { forgetSigner, newSigner, registerKeyEarly, signingCard } from './signing.js';
import { newTranscript, onTranscriptMessage, transcriptView } from './transcript.js';
import { chatPanel, chatSnapshot, newChat, onChatMessage, restoreChat } from './chat.js';
import { forgetMemory, linesSnapshot, loadMemory, restoreLines, saveMemory } from './memory.js';
import * as kiosk from './kiosk.js';

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
  ui: { confirmLeave: false, confirmClose: false, reopenReason: '', editLine: null, editText: '' },
  transcript: newTranscript(),
  chat: newChat(),
  mediaStats: {}, // participant -> {state, bitrate_in, ...} (bench only)
  flags: new Map(), // flag_id -> {participant, kind, at, closedAt}
  signing: {}, // participant -> {oath: 'signed'|'refused', record: ...}
  sealed: null, // {document_hash, sealed_sha256} or the seal endpoint's answer
  kiosk: params.get('kiosk') === '1' ? kiosk.newKiosk() : null,
};
const signer = newSigner();
let session = null; // {token, role, ...} between the code and the websocket — memory only
let stopSelfTest = null;
let media = null;

const root = document.getElementById('app');
let kioskBarEl = null;
function kioskBar() {
  if (!kioskBarEl) {
    kioskBarEl = h('div', { class: 'kiosk-bar', testid: 'kiosk-bar', hidden: true });
    root.before(kioskBarEl);
  }
  return kioskBarEl;
}
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
  if (p.flag !== undefined) p.flag = t(`flag.${p.flag}`) === `flag.${p.flag}` ? p.flag : t(`flag.${p.flag}`);
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
  const bench = STAFF.has(session.role);
  session = { ...session, token: null }; // the connection owns the token from here on
  // A reopened console: what it showed before, and from where the server is to catch up.
  const memory = bench ? loadMemory(S.hearingId, S.participantId) : null;
  if (memory) {
    restoreLines(S.transcript, memory.lines);
    restoreChat(S.chat, memory.chat);
  }
  S.conn = new CourtConnection({
    token,
    onStatus: (status, detail) => {
      S.connStatus = status;
      if (status === 'stopped') {
        S.stopDetail = detail;
        media?.close();
      }
      render();
    },
    onMessage: (msg) => {
      handleMessage(msg);
      if (bench && msg.type === 'event') remember();
      if (msg.type === 'media_stats' && S.screen === 'live' && isStaff() && updateQuality(root, S)) return;
      // Excused, removed or left: this session is over; stop before the server closes.
      if (OUT.has(myEntry()?.presence) && S.conn && S.conn.status !== 'stopped') {
        media?.close();
        S.conn.stop({ why: 'ended' });
        return; // stop() rendered
      }
      render();
    },
  });
  if (memory) S.conn.cursor = memory.cursor;
  media = createMedia({ sendSignal: (data) => S.conn?.signal(data), onChange: () => scheduleRender() });
  S.screen = 'live';
  render();
  S.conn.start();
}

let rememberQueued = false;
/** Keep the console's cursor, transcript and chat (memory.js), at most every half second. */
function remember() {
  if (rememberQueued) return;
  rememberQueued = true;
  setTimeout(() => {
    rememberQueued = false;
    if (!S.conn || S.conn.cursor === null) return;
    if (S.view?.hearing?.phase === 'sealed') {
      forgetMemory(S.hearingId, S.participantId);
      return;
    }
    saveMemory(S.hearingId, S.participantId,
      { cursor: S.conn.cursor, lines: linesSnapshot(S.transcript), chat: chatSnapshot(S.chat) });
  }, 500);
}

function handleMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      S.me = { participant_id: msg.participant_id, role: msg.role };
      S.view = msg.state;
      S.status = msg.status ?? null;
      syncMute();
      media?.hello(); // a new websocket: (re)start the media peer
      keyBeforeClose();
      break;
    case 'state':
      S.view = msg.state;
      syncMute();
      keyBeforeClose();
      break;
    case 'event':
      onTranscriptMessage(S.transcript, msg);
      onChatMessage(S.chat, msg);
      onEvent(msg);
      break;
    case 'typing':
      onChatMessage(S.chat, msg);
      break;
    case 'signal':
      if (msg.data?.type === 'media_stats') S.mediaStats = msg.data.stats ?? {};
      else media?.handleSignal(msg.data);
      break;
    case 'media_stats':
      S.mediaStats = msg.stats ?? {};
      break;
    case 'transcript_partial':
    case 'transcript_status':
      onTranscriptMessage(S.transcript, msg);
      break;
    case 'error':
      if (isStaff()) addAlert('alert.error', { message: `${msg.code}: ${msg.message}` });
      break;
    default:
      break;
  }
}

/** Keep the local tracks' `enabled` in step with the server's view of the self-mute. */
function syncMute() {
  const me = myEntry();
  if (!me || !media) return;
  for (const kind of ['audio', 'video']) media.setMuted(kind, !!me.self_muted?.includes(kind));
}

/** A signer's device key goes to the server while the hearing is live (signing.js). */
function keyBeforeClose() {
  const phase = S.view?.hearing?.phase;
  if (!S.conn || !S.me || !SIGNERS.has(S.me.role) || !phase || phase === 'closed' || phase === 'sealed') return;
  registerKeyEarly(signer, (name, args) => S.conn.command(name, args));
}

function onEvent(msg) {
  const ev = msg.event;
  if (ev.type === 'document_signed' || ev.type === 'signing_refused') {
    const entry = (S.signing[ev.participant] ??= {});
    entry[ev.purpose] = ev.type === 'document_signed' ? 'signed' : 'refused';
    if (ev.type === 'signing_refused') entry[`${ev.purpose}Reason`] = ev.reason;
  }
  if (ev.type === 'record_sealed') S.sealed = { ...(S.sealed ?? {}), ...ev };
  if (!isStaff()) return;
  if (ev.type === 'flag_raised') {
    S.flags.set(ev.flag_id, { participant: ev.participant, kind: ev.kind, at: msg.at ? new Date(msg.at) : new Date() });
    addAlert('alert.flag', { who: personName(ev.participant), flag: ev.kind }, 'flag');
    S.alerts[0].flagId = ev.flag_id;
  } else if (ev.type === 'flag_closed') {
    const f = S.flags.get(ev.flag_id);
    if (f) {
      f.closedAt = msg.at ? new Date(msg.at) : new Date();
      addAlert('alert.flagClosed', { who: personName(f.participant), flag: f.kind }, 'flag-closed');
    }
  }
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

let renderQueued = false;
/** Coalesce bursts (media callbacks, partial lines) into one render per frame. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** What a re-render must not lose: focus, the caret, and the scroll position of lists. */
function keepView(fn) {
  const active = document.activeElement;
  const focusId = active?.dataset?.testid;
  const caret = (active?.tagName === 'INPUT' || active?.tagName === 'TEXTAREA') && active.type !== 'checkbox'
    ? [active.selectionStart, active.selectionEnd] : null;
  const scrolls = new Map();
  for (const el of root.querySelectorAll('[data-scroll-keep]')) {
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    scrolls.set(el.dataset.scrollKeep, { top: el.scrollTop, atEnd });
  }
  fn();
  for (const el of root.querySelectorAll('[data-scroll-keep]')) {
    const was = scrolls.get(el.dataset.scrollKeep);
    // New lines keep a list that was at its end at its end; otherwise stay where the reader is.
    if (was) el.scrollTop = was.atEnd && el.dataset.stick === 'end' ? el.scrollHeight : was.top;
    else if (el.dataset.stick === 'end') el.scrollTop = el.scrollHeight;
  }
  if (focusId && document.activeElement !== active) {
    const el = root.querySelector(`[data-testid="${CSS.escape(focusId)}"]`);
    if (el) {
      el.focus({ preventScroll: true });
      if (caret && el.setSelectionRange) {
        try {
          el.setSelectionRange(caret[0], caret[1]);
        } catch {
          /* not a text field */
        }
      }
    }
  }
}

function render() {
  keepView(renderNow);
}

function renderNow() {
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
  document.body.classList.toggle('kiosk', !!S.kiosk);
  if (S.kiosk) kiosk.renderBar(kioskBar(), kioskContext());
  switch (S.screen) {
    case 'kiosk':
      return kiosk.renderSupervisor(root, kioskContext());
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
    h('p', { class: 'muted', text: t('lobby.hint') }),
    exhibitsPanel(exhibitsContext(), { beforeHearing: true }));
}

const SIGNERS = new Set(['judge', 'clerk', 'plaintiff', 'defendant', 'lawyer', 'witness', 'interpreter']);

function waitingRoom(me) {
  const rules = ['waiting.rule1', 'waiting.rule2', 'waiting.rule3', 'waiting.rule4', 'waiting.rule5'];
  // Only what the server sends on the supervision link (the clerk's camera) is shown here.
  const supervision = (media?.remote() ?? []).filter((r) => r.link === 'supervision');
  const video = supervision.find((r) => r.kind === 'video' && !r.track.muted);
  const phase = S.view.hearing.phase;
  const oathOpen = S.me.role === 'witness' && phase !== 'closed' && phase !== 'sealed';
  return h('div', { class: 'stack narrow', testid: 'screen-waiting' },
    h('section', { class: 'card' },
      h('h1', { text: t('waiting.title') }),
      whoAmI(me),
      h('p', { class: 'lead', text: t('waiting.body') }),
      h('div', { class: `video-slot${video ? ' live' : ''}`, testid: 'supervision-slot', 'aria-label': t('waiting.supervision'),
        dataset: { tracks: String(supervision.length) } },
      video ? video.element : h('span', { class: 'slot-empty', text: t(supervision.length ? 'waiting.supervisionAudio' : 'waiting.supervisionNone') }),
      h('span', { class: 'slot-label', text: t('waiting.supervision') })),
      selfView(me),
      chatPanel(chatContext(), { testid: 'waiting-chat' }),
      h('h2', { text: t('waiting.rulesTitle') }),
      h('ol', { class: 'rules' }, rules.map((k) => h('li', { text: t(k) }))),
      noticeLine()),
    oathOpen || S.signing[S.me.participant_id]?.oath === 'signed' ? signingCard(signContext('oath'), 'oath') : null,
    recordCardFor(me));
}

function signContext(purpose) {
  const mine = S.signing[S.me.participant_id] ?? {};
  return {
    S, run, render, signer, hid: S.hearingId, pid: S.me.participant_id, token: () => S.conn?.token ?? null,
    answered: mine[purpose],
    onAnswered: (what) => {
      (S.signing[S.me.participant_id] ??= {})[purpose] = what;
    },
  };
}

/** After the close: the frozen record to read and sign (or refuse), for those who sign. */
function recordCardFor(me) {
  if (!me || !SIGNERS.has(S.me.role)) return null;
  const phase = S.view.hearing.phase;
  // Once sealed, a signer keeps the card: their receipt and the check of the sealed file.
  if (phase !== 'closed' && !(phase === 'sealed' && S.signing[S.me.participant_id]?.record === 'signed')) return null;
  if (S.me.role === 'witness' && me.presence !== 'in_hearing') {
    // The server gives a witness the record only in the hearing (isolation); say so plainly.
    return h('section', { class: 'card', testid: 'sign-record-outside' },
      h('h2', { text: t('sign.record.title') }),
      h('p', { class: 'notice', text: t('sign.witnessOutside') }));
  }
  return signingCard(signContext('record'), 'record');
}

/** The own camera, small, so a participant knows what the court sees. */
function selfView(me) {
  const el = media?.localVideo();
  const off = me?.self_muted?.includes('video') || me?.cut?.includes('video');
  if (!el) {
    const err = media?.state().localError;
    return err ? h('p', { class: 'notice error', testid: 'media-error', text: t('media.localFailed', { name: err }) }) : null;
  }
  return h('figure', { class: `tile self${off ? ' off' : ''}`, testid: 'self-view' },
    off ? h('div', { class: 'tile-off', text: t('media.camOff') }) : el,
    h('figcaption', { text: t('media.you') }));
}

/**
 * Tiles for what the hub forwards on the hearing link, one per source, labelled with the
 * source's display name. A source the state shows as not in the hearing, or with the camera
 * off or cut, shows a plain placeholder instead of a frozen picture.
 */
export function hearingTiles({ compact = false } = {}) {
  const byId = new Map((S.view?.participants ?? []).map((p) => [p.participant_id, p]));
  const groups = new Map();
  const sealed = S.view?.hearing?.phase === 'sealed'; // no routes any more: no frozen pictures
  for (const r of sealed ? [] : media?.remote() ?? []) {
    if (r.link !== 'hearing') continue;
    const p = byId.get(r.source);
    if (p && p.presence !== 'in_hearing') continue;
    const g = groups.get(r.source) ?? {};
    g[r.kind] = r;
    groups.set(r.source, g);
  }
  const tiles = [...groups].map(([source, g]) => {
    const p = byId.get(source);
    const camOff = !g.video || p?.cut?.includes('video') || p?.self_muted?.includes('video') || g.video.track.muted;
    const micOff = !g.audio || p?.cut?.includes('audio') || p?.self_muted?.includes('audio');
    return h('figure', { class: `tile${camOff ? ' off' : ''}`, testid: `tile-${source}`, dataset: { source } },
      camOff ? h('div', { class: 'tile-off', text: t('media.camOff') }) : g.video.element,
      h('figcaption', {},
        h('span', { class: 'tile-name', text: p ? p.display_name : t('media.unknown') }),
        p ? h('span', { class: 'tile-role', text: t(`role.${p.role}`) }) : null,
        micOff ? h('span', { class: 'tile-mic-off', text: t('media.micOff') }) : null));
  });
  const state = media?.state().connection;
  let status = null;
  if (sealed) {
    status = h('p', { class: 'slot-empty', testid: 'media-status', text: t('media.ended') });
  } else if (!tiles.length) {
    status = h('p', { class: 'slot-empty', testid: 'media-status', dataset: { state: state ?? 'none' },
      text: t(state === 'connected' ? 'media.nobody' : 'media.connecting') });
  }
  return h('div', { class: `tiles${compact ? ' compact' : ''}`, testid: 'hearing-tiles', dataset: { count: String(tiles.length) } },
    tiles, status);
}

function hearingTranscript() {
  const lang = S.view?.hearing?.language;
  const off = S.status?.transcription?.[lang]?.available === false;
  return h('section', { class: 'card' },
    h('h2', { text: t('console.transcript') }),
    transcriptView(S.transcript, personName, { offNotice: off, testid: 'hearing-transcript' }));
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
  const phase = S.view.hearing.phase;
  const closed = phase === 'closed';
  return h('div', { class: 'stack wide', testid: 'screen-hearing' },
    closed || phase === 'sealed' ? recordCardFor(me) : null,
    h('section', { class: 'card hearing' },
      h('h1', { text: t(phase === 'closed' ? 'hearing.closedTitle' : 'hearing.title') }),
      whoAmI(me),
      h('p', { class: 'phase-line' }, `${t('hearing.phase')}: `,
        h('strong', { testid: 'phase', text: t(`phase.${phase}`) })),
      hearingTiles(),
      selfView(me),
      h('h2', { text: t('hearing.myMedia') }),
      muteControls(me),
      noticeLine(),
      h('h2', { text: t('hearing.participants') }),
      h('ul', { class: 'people', testid: 'hearing-participants' }, people.map((p) => h('li', {},
        h('span', { class: 'name', text: p.display_name }),
        h('span', { class: 'role', text: t(`role.${p.role}`) }),
        p.connected ? null : h('span', { class: 'tag', text: t('offline') })))),
      leave),
    closed ? null : exhibitsPanel(exhibitsContext()),
    closed ? null : hearingTranscript(),
    chatPanel(chatContext(), { testid: 'hearing-chat' }));
}

function chatContext() {
  return { S, run, render, personName, myEntry };
}

function exhibitsContext() {
  return { S, run, render, personName, token: () => S.conn?.token ?? null, media: () => media };
}

function consoleContext() {
  return { S, run, render, personName, muteControls, myEntry, alertText, hearingTiles, selfView, chatPanel,
    signingCard: () => (SIGNERS.has(S.me.role) ? signingCard(signContext('record'), 'record') : null),
    token: () => S.conn?.token ?? null, signer, exhibitsPanel: () => exhibitsPanel(exhibitsContext()) };
}

// ---------------------------------------------------------------- kiosk

function kioskContext() {
  return { S, render, startParticipant, endSession };
}

/** The kiosk hosts one participant: their code was typed by the supervisor. */
function startParticipant(participantId, code) {
  S.participantId = participantId;
  S.screen = 'code';
  S.lastCode = code;
  render();
  submitCode(code);
}

/** End the hosted session: nothing of that participant stays in this browser. */
function endSession() {
  media?.close();
  media = null;
  S.conn?.stop({ why: 'ended' });
  S.conn = null;
  if (stopSelfTest) { stopSelfTest(); stopSelfTest = null; }
  session = null;
  forgetSigner(signer);
  Object.assign(S, {
    participantId: null, codeError: null, busy: false, connStatus: 'idle', stopDetail: null, me: null,
    view: null, status: null, alerts: [], notice: null, lastCode: null,
    ui: { confirmLeave: false, confirmClose: false, reopenReason: '', editLine: null, editText: '' },
    transcript: newTranscript(), chat: newChat(), mediaStats: {}, flags: new Map(), signing: {}, sealed: null,
  });
  try { localStorage.clear(); } catch { /* none */ }
  try { sessionStorage.clear(); } catch { /* none */ }
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0].trim();
    if (name) document.cookie = `${name}=; Max-Age=0; path=/`;
  }
  guardUnload(false);
  root.replaceChildren();
  caseLine.textContent = '';
  S.screen = 'kiosk';
  kiosk.afterReset(S.kiosk);
  render();
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
// For tests and support staff: drop the socket as a network blip would; inbound media bytes
// per link (from getStats). Exposes no token.
window.__courtroomTest = Object.freeze({
  dropSocket: () => S.conn?.ws?.close(),
  inboundByLink: () => (media ? media.inboundByLink() : Promise.resolve({ hearing: 0, supervision: 0 })),
  inboundByKind: () => (media ? media.inboundByKind() : Promise.resolve({})),
  mediaState: () => (media ? media.state() : null),
  iceRoute: () => (media ? media.iceRoute() : Promise.resolve(null)),
});

if (S.kiosk) S.screen = S.hearingId && S.participantId ? 'kiosk' : 'badlink';
else if (!S.hearingId || !S.participantId) S.screen = 'badlink';
render();

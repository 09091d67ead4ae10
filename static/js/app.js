// The participant app (join.html): join code → device self-test → the hearing websocket,
// then a screen chosen by the participant's presence as the server reports it. Judges and
// clerks get the console (console.js). The page decides nothing about who may see what.
// This module holds the app's state, the connection and the render loop; the screens are
// door.js (code, stopped, exit), party.js (lobby, waiting room, hearing) and console.js.

import { addAlert, alertText, onBenchEvent } from './alerts.js';
import { CourtConnection } from './connection.js';
import { renderConsole, updateQuality } from './console.js';
import { exitCard, messageCard, renderCode, stoppedCard, submitCode } from './door.js';
import { h, keepView, replace } from './dom.js';
import { exhibitsPanel } from './exhibits.js';
import { applyStatic, onLangChange, t, toggleLang } from './i18n.js';
import { createMedia } from './media.js';
import { hearingView, lobby, waitingRoom } from './party.js';
import { renderSelfTest } from './selftest.js';
import { SIGNERS, signContext } from './signers.js';
import { forgetSigner, newSigner, registerKeyEarly, signingCard } from './signing.js';
import { hearingTiles, muteControls, selfView } from './tiles.js';
import { newTranscript, onTranscriptMessage } from './transcript.js';
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

// What the screens (door.js, party.js, tiles.js, signers.js) get of the app.
const page = {
  S, run, render, signer, personName, myEntry,
  media: () => media,
  onSession: (s) => { session = s; },
  chatContext, exhibitsContext,
};

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

function personName(id) {
  const p = S.view?.participants?.find((x) => x.participant_id === id);
  return p ? p.display_name : id;
}

function myEntry() {
  return S.view?.participants?.find((p) => p.participant_id === S.me?.participant_id) ?? null;
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
    if (isStaff()) addAlert(S, entry[0], entry[1], 'mine');
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
      if (isStaff()) addAlert(S, 'alert.error', { message: `${msg.code}: ${msg.message}` });
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
  onBenchEvent(S, msg, personName);
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

// A click is a press and a release on the same element. The console is rebuilt on every
// message, and one rebuilt between the press and the release replaces the button under the
// pointer: the browser then fires no click, and the judge's "admit" is silently lost (the
// party's row leaving the waiting list was enough). So while a pointer is pressed, renders
// wait, and the release renders once what came in meanwhile. A press that never reports its
// end (the window losing focus mid-press) holds them for at most PRESS_HOLD_MS.
const PRESS_HOLD_MS = 5000;
let pressedAt = 0;
let renderWaiting = false;
let pressTimer = 0;
function released() {
  pressedAt = 0;
  clearTimeout(pressTimer);
  if (renderWaiting) {
    renderWaiting = false;
    scheduleRender();
  }
}
window.addEventListener('pointerdown', (ev) => {
  if (!ev.isPrimary) return;
  pressedAt = performance.now();
  clearTimeout(pressTimer);
  pressTimer = setTimeout(released, PRESS_HOLD_MS);
}, true);
window.addEventListener('pointerup', released, true);
window.addEventListener('pointercancel', released, true);
window.addEventListener('blur', released);

function render() {
  if (pressedAt && performance.now() - pressedAt < PRESS_HOLD_MS) {
    renderWaiting = true;
    return;
  }
  keepView(root, renderNow);
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
      return renderCode(root, page);
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

function renderLive() {
  if (!S.me) {
    // Before the welcome, or refused at the door.
    if (S.connStatus === 'stopped') return replace(root, stoppedCard(page));
    return replace(root, h('section', { class: 'card narrow', testid: 'screen-connecting' },
      h('p', { class: 'lead', text: t('conn.connecting') })));
  }
  const me = myEntry();
  const presence = me?.presence;
  if (OUT.has(presence)) return replace(root, exitCard(presence));
  if (S.connStatus === 'stopped') return replace(root, stoppedCard(page));
  if (isStaff()) return renderConsole(root, consoleContext());
  if (presence === 'in_hearing') return replace(root, hearingView(page, me));
  if (presence === 'waiting_room') return replace(root, waitingRoom(page, me));
  return replace(root, lobby(page, me));
}

function chatContext() {
  return { S, run, render, personName, myEntry };
}

function exhibitsContext() {
  return { S, run, render, personName, token: () => S.conn?.token ?? null, media: () => media };
}

function consoleContext() {
  return { S, run, render, personName, myEntry, alertText, chatPanel,
    muteControls: (me, opts) => muteControls(page, me, opts),
    hearingTiles: (opts) => hearingTiles(page, opts),
    selfView: (me) => selfView(page, me),
    signingCard: () => (SIGNERS.has(S.me.role) ? signingCard(signContext(page, 'record'), 'record') : null),
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
  submitCode(page, code);
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
  kiosk.clearBrowserStorage();
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

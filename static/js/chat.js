// Chat (docs/protocol.md, "Chat"): conversations to the hearing, to the bench, and between
// the clerk and a waiting witness; who is typing (bench only) and unread counts per
// conversation, counted here from the event seqs. What may be sent and to whom is the
// server's to decide: a refusal comes back as a result and is shown like any other.

import { h } from './dom.js';
import { t } from './i18n.js';

const TYPING_SHOWN_MS = 4000; // a `typing` is shown this long (the server sends ≤ 1/s)
const TYPING_EVERY_MS = 2000; // while writing, tell the bench at most this often
const MAX_TEXT = 2000;

export function newChat() {
  return { messages: [], seqs: new Set(), read: {}, open: null, draft: '', typing: new Map(), typedAt: 0 };
}

/** Fold a server message into the chat; true if it was one. */
export function onChatMessage(C, msg) {
  if (msg.type === 'typing') {
    C.typing.set(msg.participant, { to: msg.to, until: Date.now() + TYPING_SHOWN_MS });
    return true;
  }
  if (msg.type !== 'event' || msg.event?.type !== 'chat_message') return false;
  if (C.seqs.has(msg.seq)) return true; // never twice
  const ev = msg.event;
  C.seqs.add(msg.seq);
  C.messages.push({ seq: msg.seq, sender: ev.sender, to: ev.to, text: ev.text, at: msg.at ?? ev.sent_at });
  C.typing.delete(ev.sender);
  return true;
}

/** For the page's memory (memory.js): plain JSON, and back. */
export function chatSnapshot(C) {
  return { messages: C.messages, read: C.read };
}
export function restoreChat(C, snap) {
  for (const m of snap?.messages ?? []) {
    if (typeof m?.seq !== 'number' || C.seqs.has(m.seq)) continue;
    C.seqs.add(m.seq);
    C.messages.push(m);
  }
  C.messages.sort((a, b) => a.seq - b.seq);
  Object.assign(C.read, snap?.read ?? {});
}

/**
 * The conversation a message belongs to, as this viewer sees it: `hearing`, `bench`, or
 * `participant:<witness id>` for the clerk ↔ witness line (one per waiting witness).
 */
function conversationOf(m, roleOf) {
  if (m.to === 'hearing' || m.to === 'bench') return m.to;
  const target = m.to.slice('participant:'.length);
  const witness = roleOf(m.sender) === 'clerk' ? target : m.sender;
  return `participant:${witness}`;
}

/** Conversations this viewer may have, in order. */
function conversations(ctx) {
  const { S } = ctx;
  const me = S.me.participant_id;
  const role = S.me.role;
  const inside = ctx.myEntry()?.presence === 'in_hearing';
  const list = [];
  if (role === 'judge' || role === 'clerk' || inside) list.push('hearing', 'bench');
  const roleOf = roleLookup(S);
  for (const m of S.chat.messages) {
    const c = conversationOf(m, roleOf);
    if (!list.includes(c)) list.push(c);
  }
  if (role === 'clerk') {
    for (const p of S.view.participants) {
      const c = `participant:${p.participant_id}`;
      if (p.role === 'witness' && p.presence === 'waiting_room' && !list.includes(c)) list.push(c);
    }
  }
  // A waiting witness writes only to the clerk, once the clerk has written.
  if (!inside && role === 'witness') return list.filter((c) => c === `participant:${me}`);
  return list;
}

function roleLookup(S) {
  const roles = new Map((S.view?.participants ?? []).map((p) => [p.participant_id, p.role]));
  // A waiting witness sees only themself: whoever writes privately to them is the clerk.
  return (id) => roles.get(id) ?? (S.me.role === 'witness' ? 'clerk' : undefined);
}

/** Unread messages per conversation (not one's own, past what was read there). */
export function unreadCounts(S) {
  const roleOf = roleLookup(S);
  const out = {};
  for (const m of S.chat.messages) {
    if (m.sender === S.me?.participant_id) continue;
    const c = conversationOf(m, roleOf);
    if (m.seq > (S.chat.read[c] ?? 0)) out[c] = (out[c] ?? 0) + 1;
  }
  return out;
}

function convLabel(c, ctx) {
  if (c === 'hearing' || c === 'bench') return t(`chat.${c}`);
  const id = c.slice('participant:'.length);
  if (id === ctx.S.me.participant_id) return t('chat.clerk');
  return t('chat.private', { name: ctx.personName(id) });
}

/** Where a message typed in conversation ``c`` goes. */
function destination(c, S) {
  if (c === 'hearing' || c === 'bench') return c;
  const witness = c.slice('participant:'.length);
  if (witness !== S.me.participant_id) return c; // the clerk writes to the witness
  const fromClerk = [...S.chat.messages].reverse().find((m) => m.sender !== witness);
  return fromClerk ? `participant:${fromClerk.sender}` : null;
}

export function chatPanel(ctx, { testid = 'panel-chat' } = {}) {
  const { S, run, render, personName } = ctx;
  const C = S.chat;
  const list = conversations(ctx);
  if (!list.length) return null;
  if (!list.includes(C.open)) C.open = list[0];
  const roleOf = roleLookup(S);
  const open = C.open;
  const shown = C.messages.filter((m) => conversationOf(m, roleOf) === open);
  // What is on screen is read: the cursor of this conversation moves to its last message.
  if (shown.length && !document.hidden) C.read[open] = Math.max(C.read[open] ?? 0, shown[shown.length - 1].seq);
  const unread = unreadCounts(S);
  const tabs = list.length > 1 ? h('div', { class: 'chat-tabs', role: 'tablist' }, list.map((c) => h('button', {
    type: 'button', class: `btn small ${c === open ? 'primary' : 'secondary'}`, role: 'tab',
    'aria-selected': c === open ? 'true' : 'false', testid: `chat-tab-${c}`, dataset: { unread: String(unread[c] ?? 0) },
    onclick: () => { C.open = c; render(); },
  }, convLabel(c, ctx), unread[c] ? h('span', { class: 'badge', testid: `chat-unread-${c}`, text: String(unread[c]) }) : null))) : null;
  const items = shown.map((m) => h('li', { class: `chat-msg${m.sender === S.me.participant_id ? ' mine' : ''}`,
    testid: `chat-msg-${m.seq}`, dataset: { seq: String(m.seq), sender: m.sender } },
  h('strong', { class: 'chat-who', text: personName(m.sender) }), ' ',
  h('span', { class: 'chat-text', text: m.text })));
  const now = Date.now();
  const typing = [...C.typing].filter(([pid, v]) => v.until > now && pid !== S.me.participant_id)
    .map(([pid, v]) => t('chat.typing', { name: personName(pid), to: convLabel(conversationOf({ sender: pid, to: v.to }, roleOf), ctx) }));
  if (typing.length) setTimeout(render, TYPING_SHOWN_MS + 50);
  const me = ctx.myEntry();
  const to = destination(open, S);
  const phase = S.view.hearing.phase;
  const closed = phase === 'closed' || phase === 'sealed';
  let composer = null;
  if (me?.chat_muted) composer = h('p', { class: 'notice error', testid: 'chat-muted', text: t('chat.muted') });
  else if (!closed && to) composer = composerFor(ctx, to);
  return h('section', { class: 'panel chat', testid },
    h('h2', { text: t('chat.title') }), tabs,
    h('ol', { class: 'chat-list', testid: 'chat-list', dataset: { scrollKeep: `chat-${open}`, stick: 'end' } },
      items.length ? items : h('li', { class: 'muted', text: t('chat.empty') })),
    typing.length ? h('p', { class: 'small muted chat-typing', testid: 'chat-typing', text: typing.join('；') }) : null,
    composer);
}

function composerFor(ctx, to) {
  const { S, run, render } = ctx;
  const C = S.chat;
  const input = h('textarea', { class: 'text-input chat-input', testid: 'chat-input', rows: 2, maxlength: MAX_TEXT,
    'aria-label': t('chat.placeholder'), placeholder: t('chat.placeholder') });
  input.value = C.draft;
  input.addEventListener('input', () => {
    C.draft = input.value;
    if (C.draft.trim() && Date.now() - C.typedAt > TYPING_EVERY_MS) {
      C.typedAt = Date.now();
      S.conn?.command('typing', { to }); // a hint: its answer does not matter
    }
  });
  const send = async () => {
    const text = C.draft.trim();
    if (!text) return;
    const res = await run('send_message', { to, text });
    if (res.ok) { C.draft = ''; render(); }
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  return h('div', { class: 'chat-compose' }, input,
    h('button', { type: 'button', class: 'btn primary', testid: 'chat-send', text: t('chat.send'), onclick: send }));
}

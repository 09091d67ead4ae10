// The pages of a party, witness or interpreter, one per presence: the lobby (waiting to be
// admitted), the waiting room (rules, the clerk's supervision video, the oath) and the
// hearing (tiles, own media, participants, exhibits, transcript, chat, the record to sign).
// Only what the server's state holds is shown; the page decides nothing about isolation.
// `ctx` is the app's: {S, run, render, signer, personName, media(), chatContext(), exhibitsContext()}.

import { alertText } from './alerts.js';
import { chatPanel } from './chat.js';
import { h } from './dom.js';
import { exhibitsPanel } from './exhibits.js';
import { t } from './i18n.js';
import { oathCardFor, recordCardFor } from './signers.js';
import { hearingTiles, muteControls, selfView } from './tiles.js';
import { transcriptView } from './transcript.js';

function whoAmI(ctx, me) {
  return h('p', { class: 'whoami', testid: 'whoami',
    text: t('you.are', { name: me?.display_name ?? '', role: t(`role.${ctx.S.me.role}`) }) });
}

export function lobby(ctx, me) {
  return h('section', { class: 'card narrow', testid: 'screen-lobby' },
    h('div', { class: 'spinner', 'aria-hidden': 'true' }),
    h('h1', { text: t('lobby.title') }),
    whoAmI(ctx, me),
    h('p', { class: 'lead', text: t('lobby.body') }),
    h('p', { class: 'muted', text: t('lobby.hint') }),
    exhibitsPanel(ctx.exhibitsContext(), { beforeHearing: true }));
}

export function waitingRoom(ctx, me) {
  const rules = ['waiting.rule1', 'waiting.rule2', 'waiting.rule3', 'waiting.rule4', 'waiting.rule5'];
  // Only what the server sends on the supervision link (the clerk's camera) is shown here.
  const supervision = (ctx.media()?.remote() ?? []).filter((r) => r.link === 'supervision');
  const video = supervision.find((r) => r.kind === 'video' && !r.track.muted);
  return h('div', { class: 'stack narrow', testid: 'screen-waiting' },
    h('section', { class: 'card' },
      h('h1', { text: t('waiting.title') }),
      whoAmI(ctx, me),
      h('p', { class: 'lead', text: t('waiting.body') }),
      h('div', { class: `video-slot${video ? ' live' : ''}`, testid: 'supervision-slot', 'aria-label': t('waiting.supervision'),
        dataset: { tracks: String(supervision.length) } },
      video ? video.element : h('span', { class: 'slot-empty', text: t(supervision.length ? 'waiting.supervisionAudio' : 'waiting.supervisionNone') }),
      h('span', { class: 'slot-label', text: t('waiting.supervision') })),
      selfView(ctx, me),
      chatPanel(ctx.chatContext(), { testid: 'waiting-chat' }),
      h('h2', { text: t('waiting.rulesTitle') }),
      h('ol', { class: 'rules' }, rules.map((k) => h('li', { text: t(k) }))),
      noticeLine(ctx)),
    oathCardFor(ctx),
    recordCardFor(ctx, me));
}

function hearingTranscript(ctx) {
  const { S } = ctx;
  const lang = S.view?.hearing?.language;
  const off = S.status?.transcription?.[lang]?.available === false;
  return h('section', { class: 'card' },
    h('h2', { text: t('console.transcript') }),
    transcriptView(S.transcript, ctx.personName, { offNotice: off, testid: 'hearing-transcript' }));
}

function noticeLine(ctx) {
  if (!ctx.S.notice) return null;
  return h('p', { class: 'notice error', role: 'alert', testid: 'notice', text: alertText(ctx.S.notice) });
}

function leaveActions(ctx) {
  const { S, run, render } = ctx;
  return S.ui.confirmLeave
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
}

export function hearingView(ctx, me) {
  const { S } = ctx;
  const people = S.view.participants.filter((p) => p.presence === 'in_hearing');
  const leave = leaveActions(ctx);
  const phase = S.view.hearing.phase;
  const closed = phase === 'closed';
  return h('div', { class: 'stack wide', testid: 'screen-hearing' },
    closed || phase === 'sealed' ? recordCardFor(ctx, me) : null,
    h('section', { class: 'card hearing' },
      h('h1', { text: t(phase === 'closed' ? 'hearing.closedTitle' : 'hearing.title') }),
      whoAmI(ctx, me),
      h('p', { class: 'phase-line' }, `${t('hearing.phase')}: `,
        h('strong', { testid: 'phase', text: t(`phase.${phase}`) })),
      hearingTiles(ctx),
      selfView(ctx, me),
      h('h2', { text: t('hearing.myMedia') }),
      muteControls(ctx, me),
      noticeLine(ctx),
      h('h2', { text: t('hearing.participants') }),
      h('ul', { class: 'people', testid: 'hearing-participants' }, people.map((p) => h('li', {},
        h('span', { class: 'name', text: p.display_name }),
        h('span', { class: 'role', text: t(`role.${p.role}`) }),
        p.connected ? null : h('span', { class: 'tag', text: t('offline') })))),
      leave),
    closed ? null : exhibitsPanel(ctx.exhibitsContext()),
    closed ? null : hearingTranscript(ctx),
    chatPanel(ctx.chatContext(), { testid: 'hearing-chat' }));
}

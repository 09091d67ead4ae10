// The judge and clerk console: participants, waiting room, media cut/restore, phase control,
// alerts, the transcript panel and the live-transcription status. Every button sends a
// command; what the page shows comes only from the server's `state` and `event` messages.

import { h, replace } from './dom.js';
import { lang, t } from './i18n.js';
import { api, apiProblem } from './signing.js';
import { transcriptView } from './transcript.js';

// Mirrors courtroom/domain/phases.py PHASE_MOVES, only to offer the right buttons;
// the server decides.
const PHASE_MOVES = {
  opening: ['investigation'],
  investigation: ['evidence'],
  evidence: ['investigation', 'debate'],
  debate: ['investigation', 'evidence', 'final_statements'],
  final_statements: ['debate'],
};
const OPEN_PHASES = new Set(Object.keys(PHASE_MOVES));
const STAFF = new Set(['judge', 'clerk']);
const SIGN_ROLES = new Set(['judge', 'clerk', 'plaintiff', 'defendant', 'lawyer', 'witness', 'interpreter']);

// Focus, caret and list scroll positions are kept across re-renders by app.js (dom.js keepView).
export function renderConsole(root, ctx) {
  const { S } = ctx;
  const isJudge = S.me.role === 'judge';
  const phase = S.view.hearing.phase;
  const after = phase === 'closed' || phase === 'sealed';
  replace(root, h('section', { class: 'console-wrap', testid: 'screen-console', dataset: { role: S.me.role } },
    h('h1', { class: 'visually-hidden', text: t(isJudge ? 'console.title' : 'console.clerkTitle') }),
    banners(S),
    h('div', { class: 'console-grid' },
      h('div', { class: 'col' }, phasePanel(ctx), isJudge ? broadcastPanel(ctx) : null,
        after ? signingPanel(ctx) : null, waitingPanel(ctx), myMediaPanel(ctx)),
      h('div', { class: 'col' }, videoPanel(ctx), after ? null : ctx.exhibitsPanel(), participantsPanel(ctx)),
      h('div', { class: 'col' }, alertsPanel(ctx), ctx.chatPanel(ctx), transcriptPanel(ctx)))));
}

function videoPanel({ hearingTiles }) {
  return panel('panel-video', t('console.videoPanel'), hearingTiles({ compact: true }));
}

/** Connection quality from the hub's `media_stats` (every 2 s): bitrate, loss, RTT. */
function quality(stats) {
  if (!stats) return null;
  const kbps = (b) => (b == null ? '–' : `${Math.round(b / 1000)}`);
  const loss = Math.max(stats.loss_upstream ?? 0, stats.loss_downstream ?? 0);
  const rtt = stats.rtt == null ? null : Math.max(0, Math.round(stats.rtt * 1000));
  let level = 'good';
  if (stats.state && stats.state !== 'connected') level = 'bad';
  else if (loss > 0.08 || (rtt ?? 0) > 600) level = 'bad';
  else if (loss > 0.02 || (rtt ?? 0) > 250) level = 'fair';
  const text = stats.state && stats.state !== 'connected'
    ? t('quality.state', { state: t(`quality.s.${stats.state}`) === `quality.s.${stats.state}` ? stats.state : t(`quality.s.${stats.state}`) })
    : t('quality.line', { up: kbps(stats.bitrate_in), down: kbps(stats.bitrate_out),
      loss: (loss * 100).toFixed(1), rtt: rtt == null ? '–' : rtt });
  return { level, text };
}

function banners(S) {
  const tr = S.status?.transcription ?? {};
  const off = Object.entries(tr).filter(([, st]) => st && st.available === false);
  if (!off.length) return null;
  // The hearing's own language in full: that is the one the judge needs to know about.
  // Other languages are folded into one line that opens to the same details.
  const lang = S.view?.hearing?.language;
  const own = off.filter(([code]) => code === lang);
  const others = off.filter(([code]) => code !== lang);
  const one = ([code, st]) => h('div', { class: 'banner warn primary', testid: `asr-banner-${code}` },
    h('strong', { text: t('console.asrOff', { lang: langName(code) }) }),
    h('span', { class: 'banner-detail', text: st.message || '' }));
  return h('div', { class: 'banners', role: 'status' },
    own.map(one),
    others.length ? h('details', { class: 'banner warn folded', testid: 'asr-banner-others' },
      h('summary', { text: t('console.asrOtherLangs', { langs: others.map(([c]) => langName(c)).join('、') }) }),
      others.map(([code, st]) => h('div', { class: 'folded-item', testid: `asr-banner-${code}` },
        h('strong', { text: t('console.asrOff', { lang: langName(code) }) }),
        h('span', { class: 'banner-detail', text: st.message || '' })))) : null);
}

function langName(code) {
  const name = t(`lang.${code}`);
  return name === `lang.${code}` ? code : `${name} (${code})`;
}

function panel(testid, title, ...body) {
  return h('section', { class: 'panel', testid }, h('h2', { text: title }), ...body);
}

function btn(testid, label, onclick, cls = 'secondary') {
  return h('button', { type: 'button', class: `btn ${cls}`, testid, text: label, onclick });
}

function phasePanel({ S, run, render }) {
  const hearing = S.view.hearing;
  const phase = hearing.phase;
  const isJudge = S.me.role === 'judge';
  const mayChange = isJudge || (S.me.role === 'clerk' && hearing.phase_control_delegated);
  const body = [h('p', { class: 'phase-now' }, t('console.currentPhase'),
    h('strong', { testid: 'phase', dataset: { phase }, text: t(`phase.${phase}`) }))];
  const actions = [];
  if (phase === 'scheduled' && isJudge) {
    actions.push(btn('act-open_hearing', t('console.open'), () => run('open_hearing'), 'primary'));
  }
  if (OPEN_PHASES.has(phase) && mayChange) {
    for (const to of PHASE_MOVES[phase]) {
      actions.push(btn(`act-phase-${to}`, t('console.goTo', { phase: t(`phase.${to}`) }),
        () => run('change_phase', { to })));
    }
  }
  if (OPEN_PHASES.has(phase) && isJudge) {
    if (S.ui.confirmClose) {
      actions.push(btn('act-close_hearing-confirm', t('console.closeConfirm'), () => {
        S.ui.confirmClose = false;
        run('close_hearing');
      }, 'danger'));
      actions.push(btn('act-close_hearing-cancel', t('console.cancel'), () => { S.ui.confirmClose = false; render(); }));
    } else {
      actions.push(btn('act-close_hearing', t('console.close'), () => { S.ui.confirmClose = true; render(); }, 'danger-outline'));
    }
  }
  if (phase === 'closed' && isJudge) {
    const input = h('input', { type: 'text', class: 'text-input', testid: 'reopen-reason',
      'aria-label': t('console.reopenReason'), placeholder: t('console.reopenReason'), maxlength: 500 });
    input.value = S.ui.reopenReason;
    input.addEventListener('input', () => { S.ui.reopenReason = input.value; });
    body.push(input);
    actions.push(btn('act-reopen_hearing', t('console.reopen'), async () => {
      const reason = S.ui.reopenReason.trim();
      if (!reason) {
        S.alerts.unshift({ key: 'console.reopenNeedsReason', params: {}, kind: 'mine', at: new Date() });
        render();
        return;
      }
      const res = await run('reopen_hearing', { reason });
      if (res.ok) { S.ui.reopenReason = ''; render(); }
    }, 'primary'));
  }
  body.push(h('div', { class: 'actions wrap' }, actions));
  if (isJudge && (phase === 'scheduled' || OPEN_PHASES.has(phase))) {
    const on = hearing.phase_control_delegated;
    body.push(h('div', { class: 'actions wrap' }, btn('act-delegate', t(on ? 'console.undelegate' : 'console.delegate'),
      () => run('delegate_phase_control', { delegated: !on }), 'link')));
  }
  if (hearing.phase_control_delegated) body.push(h('p', { class: 'small muted', text: t('console.delegated') }));
  if (!mayChange && !isJudge) body.push(h('p', { class: 'small muted', text: t('console.noPhaseControl') }));
  return panel('panel-phase', t('console.phase'), ...body);
}

// The public broadcast (docs/broadcast.md): the judge's buttons. Labels live here, in both
// languages, so that the broadcast stays one small addition to the console.
const BROADCAST_TEXT = {
  zh: { title: '庭审直播', off: '未直播', announced: '已预告', live: '直播中', paused: '已暂停',
    start: '开始直播', pause: '暂停直播', resume: '继续直播', stop: '结束直播', announce: '预告直播',
    unannounce: '取消预告', page: '公开页面', exclude: '不直播', include: '恢复直播',
    delayed: '公众看到的画面有延迟；暂停后，延迟内的内容不会公开。' },
  en: { title: 'Public broadcast', off: 'Off air', announced: 'Announced', live: 'On air', paused: 'Paused',
    start: 'Start broadcast', pause: 'Pause', resume: 'Resume', stop: 'Stop broadcast', announce: 'Announce',
    unannounce: 'Withdraw announcement', page: 'Public page', exclude: 'Keep off air', include: 'Back on air',
    delayed: 'The public sees the hearing with a delay; a pause keeps what is still delayed from them.' },
};
const BROADCAST_ROLES = new Set(['judge', 'clerk', 'plaintiff', 'defendant', 'lawyer', 'interpreter']);

function broadcastPanel({ S, run }) {
  const bt = (key) => BROADCAST_TEXT[lang() === 'en' ? 'en' : 'zh'][key];
  const hearing = S.view.hearing;
  const status = hearing.broadcast || 'off';
  const open = OPEN_PHASES.has(hearing.phase);
  const on = status === 'live' || status === 'paused';
  const actions = [];
  if (!on && open) actions.push(btn('act-start_broadcast', bt('start'), () => run('start_broadcast'), 'primary'));
  if (status === 'live') actions.push(btn('act-pause_broadcast', bt('pause'), () => run('pause_broadcast'), 'danger'));
  if (status === 'paused' && open) actions.push(btn('act-resume_broadcast', bt('resume'), () => run('resume_broadcast')));
  if (on) actions.push(btn('act-stop_broadcast', bt('stop'), () => run('stop_broadcast'), 'danger-outline'));
  if (!on && (open || hearing.phase === 'scheduled')) {
    const listed = status === 'announced';
    actions.push(btn('act-announce_broadcast', bt(listed ? 'unannounce' : 'announce'),
      () => run('announce_broadcast', { listed: !listed }), 'link'));
  }
  const excluded = new Set(hearing.broadcast_excluded || []);
  const people = S.view.participants.filter((p) => BROADCAST_ROLES.has(p.role) && p.role !== 'judge');
  return panel('panel-broadcast', bt('title'),
    h('p', {}, h('strong', { testid: 'broadcast-status', dataset: { status }, text: bt(status) }), ' ',
      h('a', { href: `/public/${hearing.hearing_id}`, target: '_blank', rel: 'noopener', testid: 'broadcast-page', text: bt('page') })),
    h('div', { class: 'actions wrap' }, actions),
    ...people.map((p) => h('div', { class: 'actions wrap' }, h('span', { text: p.display_name }),
      btn(`act-broadcast-${excluded.has(p.participant_id) ? 'include' : 'exclude'}-${p.participant_id}`,
        bt(excluded.has(p.participant_id) ? 'include' : 'exclude'),
        () => run(excluded.has(p.participant_id) ? 'include_in_broadcast' : 'exclude_from_broadcast',
          { participant: p.participant_id }), 'link'))),
    h('p', { class: 'small muted', text: bt('delayed') }));
}

function waitingPanel({ S, run }) {
  const isJudge = S.me.role === 'judge';
  const waiting = S.view.participants.filter((p) => p.presence === 'lobby' || p.presence === 'waiting_room');
  const rows = waiting.map((p) => {
    const actions = [];
    if (p.presence === 'lobby') {
      actions.push(btn(`act-admit-${p.participant_id}`, t('console.admit'), () => run('admit', { participant: p.participant_id }), 'primary'));
    } else if (isJudge && !['closed', 'sealed'].includes(S.view.hearing.phase)) {
      actions.push(btn(`act-call_in-${p.participant_id}`, t('console.callIn'), () => run('call_in', { participant: p.participant_id }), 'primary'));
    }
    if (isJudge) {
      actions.push(btn(`act-dismiss-${p.participant_id}`, t('console.dismiss'), () => run('dismiss', { participant: p.participant_id })));
    }
    return h('li', { class: 'row', testid: `waiting-${p.participant_id}`, dataset: { presence: p.presence } },
      personCell(p, S),
      h('div', { class: 'actions wrap' }, actions));
  });
  return panel('panel-waiting', t('console.waiting'),
    rows.length ? h('ul', { class: 'rows' }, rows) : h('p', { class: 'muted', text: t('console.waitingEmpty') }));
}

function personCell(p, S, withIds = false) {
  const mine = p.participant_id === S.me.participant_id;
  const media = [];
  const inside = p.presence === 'in_hearing';
  if (inside && p.self_muted?.length) media.push(t('console.selfMuted', { kinds: kinds(p.self_muted) }));
  if (inside && p.cut?.length) media.push(t('console.cut', { kinds: kinds(p.cut) }));
  return h('div', { class: 'person' },
    h('div', { class: 'person-name' },
      h('span', { class: `dot ${p.connected ? 'on' : 'off'}`, title: t(p.connected ? 'online' : 'offline'),
        'aria-label': t(p.connected ? 'online' : 'offline') }),
      h('strong', { text: p.display_name }),
      mine ? h('span', { class: 'muted', text: ` ${t('console.you')}` }) : null),
    h('div', { class: 'person-meta' },
      h('span', { class: 'role', text: t(`role.${p.role}`) }),
      h('span', { class: `presence p-${p.presence}`, testid: withIds ? `presence-${p.participant_id}` : null, text: t(`presence.${p.presence}`) }),
      h('span', { class: `conn ${p.connected ? 'on' : 'off'}`, testid: withIds ? `connected-${p.participant_id}` : null,
        text: t(p.connected ? 'online' : 'offline') }),
      media.length ? h('span', { class: 'media-state', text: media.join('；') }) : null),
    qualityLine(p, S, withIds));
}

/**
 * Refresh the quality lines in place (media_stats arrive every 2 s): a full re-render that
 * often would replace buttons under the judge's pointer. Returns false when a full render is
 * needed (a line to add or remove).
 */
export function updateQuality(root, S) {
  for (const p of S.view?.participants ?? []) {
    const el = root.querySelector(`[data-testid="quality-${CSS.escape(p.participant_id)}"]`);
    const q = p.connected ? quality(S.mediaStats?.[p.participant_id]) : null;
    if (!el && !q) continue;
    if (!el || !q) return false;
    el.className = `quality q-${q.level}`;
    el.dataset.level = q.level;
    el.lastChild.textContent = `${t(`quality.level.${q.level}`)} · ${q.text}`;
  }
  return true;
}

function qualityLine(p, S, withIds) {
  if (!withIds || !p.connected) return null;
  const q = quality(S.mediaStats?.[p.participant_id]);
  if (!q) return null;
  return h('div', { class: `quality q-${q.level}`, testid: `quality-${p.participant_id}`, dataset: { level: q.level },
    title: t('quality.title') },
  h('span', { class: 'q-dot', 'aria-hidden': 'true' }),
  h('span', { text: `${t(`quality.level.${q.level}`)} · ${q.text}` }));
}

function kinds(list) {
  return list.map((k) => t(`console.${k}`)).join('、');
}

function participantsPanel({ S, run }) {
  const isJudge = S.me.role === 'judge';
  const order = ['in_hearing', 'waiting_room', 'lobby', 'invited', 'left', 'dismissed', 'removed'];
  const people = [...S.view.participants].sort((a, b) =>
    (STAFF.has(b.role) - STAFF.has(a.role)) || (order.indexOf(a.presence) - order.indexOf(b.presence)));
  const rows = people.map((p) => {
    const id = p.participant_id;
    const actions = [];
    if (isJudge && p.presence === 'in_hearing' && p.role !== 'judge' && S.view.hearing.phase !== 'sealed') {
      // A shared screen is cut like any other track, while shared (or while cut).
      const screen = S.view.presenting?.sharing?.includes(id) || p.cut?.includes('screen');
      for (const kind of screen ? ['audio', 'video', 'screen'] : ['audio', 'video']) {
        const cut = p.cut?.includes(kind);
        const cap = { audio: 'Audio', video: 'Video', screen: 'Screen' }[kind];
        actions.push(cut
          ? btn(`act-restore_media-${kind}-${id}`, t(`console.restore${cap}`), () => run('restore_media', { participant: id, kind }))
          : btn(`act-cut_media-${kind}-${id}`, t(`console.cut${cap}`), () => run('cut_media', { participant: id, kind })));
      }
      if (!STAFF.has(p.role)) {
        actions.push(btn(`act-send_back-${id}`, t('console.sendBack'), () => run('send_back', { participant: id })));
        actions.push(btn(`act-dismiss-${id}`, t('console.dismiss'), () => run('dismiss', { participant: id })));
      }
    }
    // The judge mutes (or unmutes) anyone's chat, in the hearing or waiting.
    if (isJudge && p.role !== 'judge' && ['in_hearing', 'waiting_room'].includes(p.presence) && S.view.hearing.phase !== 'sealed') {
      actions.push(p.chat_muted
        ? btn(`act-unmute_chat-${id}`, t('console.unmuteChat'), () => run('unmute_chat', { participant: id }))
        : btn(`act-mute_chat-${id}`, t('console.muteChat'), () => run('mute_chat', { participant: id })));
    }
    if (isJudge && p.presence === 'dismissed') {
      actions.push(btn(`act-recall-${id}`, t('console.recall'), () => run('recall', { participant: id })));
    }
    return h('li', { class: 'row', testid: `row-${id}`, dataset: { presence: p.presence, connected: String(p.connected) } },
      personCell(p, S, true),
      actions.length ? h('div', { class: 'actions wrap' }, actions) : null);
  });
  return panel('panel-participants', t('console.participants'), h('ul', { class: 'rows' }, rows));
}

function myMediaPanel({ S, muteControls, myEntry }) {
  void S;
  return panel('panel-my-media', t('console.myMedia'), muteControls(myEntry(), { compact: true }));
}

function alertsPanel({ S, alertText }) {
  const items = S.alerts.map((a) => {
    const open = a.kind === 'flag' && a.flagId && !S.flags.get(a.flagId)?.closedAt;
    return h('li', { class: `alert ${a.kind}${open ? ' open' : ''}`, dataset: { kind: a.kind },
      testid: a.flagId ? `flag-${a.flagId}` : null },
    h('time', { text: a.at.toLocaleTimeString([], { hour12: false }) }),
    h('span', { text: alertText(a) }),
    open ? h('span', { class: 'tag live-tag', text: t('flag.ongoing') }) : null);
  });
  return panel('panel-alerts', t('console.alerts'),
    items.length
      ? h('ul', { class: 'alerts', testid: 'alerts', 'aria-live': 'polite' }, items)
      : h('p', { class: 'muted', testid: 'alerts-empty', text: t('console.alertsEmpty') }));
}

function transcriptPanel({ S, run, render, personName }) {
  const lang = S.view?.hearing?.language;
  const off = S.status?.transcription?.[lang]?.available === false;
  const open = !['closed', 'sealed'].includes(S.view.hearing.phase);
  return panel('panel-transcript', t('console.transcript'),
    transcriptView(S.transcript, personName, {
      edit: { canEdit: open && STAFF.has(S.me.role), ui: S.ui, run, render },
      offNotice: off,
      frozen: !open,
    }),
    open && STAFF.has(S.me.role) ? h('p', { class: 'small muted', text: t('transcript.editHint') }) : null);
}

/** After the close: who has signed or refused the record; the judge seals. */
function signingPanel(ctx) {
  const { S, render } = ctx;
  const isJudge = S.me.role === 'judge';
  const signers = S.view.participants.filter((p) => SIGN_ROLES.has(p.role) && p.presence !== 'invited');
  const rows = signers.map((p) => {
    const st = S.signing[p.participant_id] ?? {};
    const status = st.record ?? 'pending';
    return h('li', { class: 'row sign-row', testid: `signing-${p.participant_id}`, dataset: { status } },
      h('strong', { text: p.display_name }), ' ',
      h('span', { class: 'role muted', text: t(`role.${p.role}`) }), ' ',
      h('span', { class: `sign-status s-${status}`, text: t(`sign.status.${status}`) }),
      st.recordReason ? h('div', { class: 'small muted', text: t('sign.refusedBecause', { reason: st.recordReason }) }) : null,
      st.oath === 'signed' ? h('div', { class: 'small muted', text: t('sign.oathSigned') }) : null);
  });
  S.ui.seal ??= { busy: false, problem: null, pdfUrl: null };
  const ui = S.ui.seal;
  const body = [h('ul', { class: 'rows' }, rows)];
  const phase = S.view.hearing.phase;
  if (isJudge && phase === 'closed') {
    body.push(h('div', { class: 'actions wrap' }, h('button', { type: 'button', class: 'btn primary', testid: 'act-seal',
      disabled: ui.busy, text: t(ui.busy ? 'sign.sealing' : 'sign.seal'), onclick: async () => {
        ui.busy = true; ui.problem = null; render();
        const res = await api(ctx.token(), 'POST', `/api/v1/hearings/${encodeURIComponent(S.hearingId)}/seal`);
        ui.busy = false;
        if (res.ok) S.sealed = { ...(S.sealed ?? {}), ...(res.body ?? {}) };
        else ui.problem = apiProblem(res);
        render();
      } })));
  }
  if (phase === 'sealed' || S.sealed) {
    body.push(h('p', { class: 'notice ok', testid: 'sealed', text: t('sign.sealed') }));
    if (ui.pdfUrl) {
      body.push(h('a', { class: 'btn secondary', href: ui.pdfUrl, download: `record-${S.hearingId}.pdf`, testid: 'record-pdf',
        text: t('sign.pdf') }));
    } else {
      body.push(h('button', { type: 'button', class: 'btn secondary', testid: 'record-pdf-fetch', text: t('sign.pdfFetch'),
        onclick: async () => {
          const res = await api(ctx.token(), 'GET', `/api/v1/hearings/${encodeURIComponent(S.hearingId)}/record.pdf`, { blob: true });
          if (res.ok && res.blob) {
            ui.pdfUrl = URL.createObjectURL(res.blob);
            ctx.signer.objectUrls.push(ui.pdfUrl);
          } else ui.problem = apiProblem(res);
          render();
        } }));
    }
  }
  if (ui.problem) body.push(h('p', { class: 'notice error', testid: 'seal-problem', text: ui.problem }));
  const mine = ctx.signingCard();
  // After the seal a signer keeps the card: their receipt and the check of the sealed file.
  return h('div', { class: 'col-inner' }, panel('panel-signing', t('sign.panel'), ...body), 
    phase === 'closed' || (phase === 'sealed' && S.signing[S.me.participant_id]?.record === 'signed') ? mine : null);
}

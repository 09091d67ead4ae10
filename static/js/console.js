// The judge and clerk console: participants, waiting room, media cut/restore, phase control,
// alerts, the transcript panel and the live-transcription status. Every button sends a
// command; what the page shows comes only from the server's `state` and `event` messages.

import { h, replace } from './dom.js';
import { t } from './i18n.js';

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

export function renderConsole(root, ctx) {
  const { S } = ctx;
  // Keep focus (and the caret in the reason field) across re-renders.
  const active = document.activeElement;
  const focusId = active?.dataset?.testid;
  const caret = active?.tagName === 'INPUT' ? [active.selectionStart, active.selectionEnd] : null;

  const isJudge = S.me.role === 'judge';
  replace(root, h('section', { class: 'console-wrap', testid: 'screen-console', dataset: { role: S.me.role } },
    h('h1', { class: 'visually-hidden', text: t(isJudge ? 'console.title' : 'console.clerkTitle') }),
    banners(S),
    h('div', { class: 'console-grid' },
      h('div', { class: 'col' }, phasePanel(ctx), waitingPanel(ctx), myMediaPanel(ctx)),
      h('div', { class: 'col' }, participantsPanel(ctx)),
      h('div', { class: 'col' }, alertsPanel(ctx), transcriptPanel()))));

  if (focusId) {
    const el = root.querySelector(`[data-testid="${CSS.escape(focusId)}"]`);
    if (el) {
      el.focus();
      if (caret && el.setSelectionRange) el.setSelectionRange(caret[0], caret[1]);
    }
  }
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

function waitingPanel({ S, run }) {
  const isJudge = S.me.role === 'judge';
  const waiting = S.view.participants.filter((p) => p.presence === 'lobby' || p.presence === 'waiting_room');
  const rows = waiting.map((p) => {
    const actions = [];
    if (p.presence === 'lobby') {
      actions.push(btn(`act-admit-${p.participant_id}`, t('console.admit'), () => run('admit', { participant: p.participant_id }), 'primary'));
    } else if (isJudge) {
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
      media.length ? h('span', { class: 'media-state', text: media.join('；') }) : null));
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
    if (isJudge && p.presence === 'in_hearing' && p.role !== 'judge') {
      for (const kind of ['audio', 'video']) {
        const cut = p.cut?.includes(kind);
        const cap = kind === 'audio' ? 'Audio' : 'Video';
        actions.push(cut
          ? btn(`act-restore_media-${kind}-${id}`, t(`console.restore${cap}`), () => run('restore_media', { participant: id, kind }))
          : btn(`act-cut_media-${kind}-${id}`, t(`console.cut${cap}`), () => run('cut_media', { participant: id, kind })));
      }
      if (!STAFF.has(p.role)) {
        actions.push(btn(`act-send_back-${id}`, t('console.sendBack'), () => run('send_back', { participant: id })));
        actions.push(btn(`act-dismiss-${id}`, t('console.dismiss'), () => run('dismiss', { participant: id })));
      }
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
  const items = S.alerts.map((a) => h('li', { class: `alert ${a.kind}`, dataset: { kind: a.kind } },
    h('time', { text: a.at.toLocaleTimeString() }),
    h('span', { text: alertText(a) })));
  return panel('panel-alerts', t('console.alerts'),
    items.length
      ? h('ul', { class: 'alerts', testid: 'alerts', 'aria-live': 'polite' }, items)
      : h('p', { class: 'muted', testid: 'alerts-empty', text: t('console.alertsEmpty') }));
}

function transcriptPanel() {
  return panel('panel-transcript', t('console.transcript'),
    h('div', { class: 'transcript', testid: 'transcript' },
      h('p', { class: 'muted', text: t('console.transcriptPending') })));
}

// The live transcript: final lines (`transcript_line` events), live partials
// (`transcript_partial` messages, not logged), corrections in place (`correct_line` →
// `transcript_correction`). Shown in the console (editable by judge and clerk while the
// transcript is open) and read-only to participants in the hearing.

import { h } from './dom.js';
import { t } from './i18n.js';

export function newTranscript() {
  return { lines: [], byId: new Map(), partials: new Map(), off: null };
}

/** Fold one server message into the transcript; returns true if it was a transcript message. */
export function onTranscriptMessage(T, msg) {
  if (msg.type === 'transcript_partial') {
    const text = String(msg.text ?? '').trim();
    if (text) T.partials.set(msg.speaker, { text, at: new Date() });
    else T.partials.delete(msg.speaker);
    return true;
  }
  if (msg.type === 'transcript_status') {
    T.off = msg.available === false ? (msg.message || '') : null;
    return true;
  }
  if (msg.type !== 'event') return false;
  const ev = msg.event;
  if (ev.type === 'transcript_line') {
    if (T.byId.has(ev.line_id)) return true;
    const line = { id: ev.line_id, speaker: ev.speaker, text: ev.text, original: ev.text,
      corrected: false, at: msg.at ? new Date(msg.at) : new Date(), seq: msg.seq };
    T.lines.push(line);
    T.byId.set(line.id, line);
    T.partials.delete(ev.speaker);
    return true;
  }
  if (ev.type === 'transcript_correction') {
    const line = T.byId.get(ev.line_id);
    if (line) {
      line.text = ev.text;
      line.corrected = true;
      line.correctedAt = msg.at ? new Date(msg.at) : new Date();
    }
    return true;
  }
  return false;
}

function hhmmss(d) {
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/**
 * The transcript list. `edit`: {canEdit, ui: S.ui, run, render} for the bench; omitted for
 * participants.
 */
export function transcriptView(T, personName, { edit = null, offNotice = null, testid = 'transcript', frozen = false } = {}) {
  const items = T.lines.map((line) => {
    const editing = edit?.canEdit && edit.ui.editLine === line.id;
    let body;
    if (editing) {
      const input = h('textarea', { class: 'text-input line-edit', testid: `line-edit-${line.id}`, rows: 2,
        'aria-label': t('transcript.editLabel'), maxlength: 2000 });
      input.value = edit.ui.editText;
      input.addEventListener('input', () => { edit.ui.editText = input.value; });
      body = h('div', { class: 'line-editing' }, input,
        h('div', { class: 'actions wrap' },
          h('button', { type: 'button', class: 'btn primary', testid: `line-save-${line.id}`, text: t('transcript.save'),
            onclick: async () => {
              const text = edit.ui.editText.trim();
              if (!text) return;
              const res = await edit.run('correct_line', { line_id: line.id, text });
              if (res.ok) { edit.ui.editLine = null; edit.render(); }
            } }),
          h('button', { type: 'button', class: 'btn secondary', text: t('transcript.cancel'),
            onclick: () => { edit.ui.editLine = null; edit.render(); } })));
    } else {
      body = h('span', { class: 'line-text', testid: `line-text-${line.id}`, text: line.text });
    }
    return h('li', { class: `line${line.corrected ? ' corrected' : ''}`, testid: `line-${line.id}`,
      dataset: { speaker: line.speaker, lineId: line.id } },
    h('div', { class: 'line-head' },
      h('time', { text: hhmmss(line.at) }),
      h('strong', { class: 'speaker', testid: 'line-speaker', text: personName(line.speaker) }),
      line.corrected ? h('span', { class: 'tag corrected-tag', title: t('transcript.original', { text: line.original }),
        text: t('transcript.corrected') }) : null,
      edit?.canEdit && !editing ? h('button', { type: 'button', class: 'btn link small', testid: `line-correct-${line.id}`,
        text: t('transcript.correct'), onclick: () => {
          edit.ui.editLine = line.id;
          edit.ui.editText = line.text;
          edit.render();
          document.querySelector(`[data-testid="line-edit-${CSS.escape(line.id)}"]`)?.focus();
        } }) : null),
    body);
  });
  // Once the hearing is closed the transcript is frozen: no more live partials.
  const partials = (frozen ? [] : [...T.partials]).map(([speaker, p]) => h('li', { class: 'line partial', testid: `partial-${speaker}`,
    'aria-hidden': 'true' },
  h('div', { class: 'line-head' },
    h('strong', { class: 'speaker', text: personName(speaker) }),
    h('span', { class: 'tag', text: t('transcript.speaking') })),
  h('span', { class: 'line-text', text: p.text })));
  const notices = [];
  if (T.off !== null || offNotice) {
    notices.push(h('p', { class: 'notice warn-notice', testid: 'transcript-off', text: t('transcript.off') }));
  }
  const empty = !items.length && !partials.length
    ? h('p', { class: 'muted', testid: 'transcript-empty', text: t('transcript.empty') }) : null;
  return h('div', { class: 'transcript', testid, dataset: { scrollKeep: testid, stick: 'end' } },
    notices, empty,
    h('ol', { class: 'lines', 'aria-live': 'polite' }, items, partials));
}

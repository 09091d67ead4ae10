// The review player: every recorded track of a hearing on one timeline, kept in sync, with
// marks for transcript lines (originals and corrections), flags, phase changes, call-ins,
// exhibits and clips. Jump to a flag, play the seconds around it, confirm or dismiss it (the
// inspector), export a clip (remuxed on the server; its hash is logged).
//
// The credential (inspector key, registry key or a bench session token) stays in memory. Media
// elements cannot send it, so they load the URLs the timeline gives, which carry a short-lived
// grant: the browser then fetches with HTTP range requests and seeks like any video.

import { h, replace } from '/js/dom.js';
import { lang } from '/js/i18n.js';

const STRINGS = {
  'zh-CN': {
    play: '播放', pause: '暂停', around: '播放前后各{s}秒', jump: '跳转', flags: '疑似违规',
    transcript: '庭审笔录', corrected: '已更正（原文：{o}）', noMedia: '此时段无录像',
    exportClip: '导出片段（当前时间前后各{s}秒）', exported: '已导出，SHA-256：{h}',
    confirm: '确认违规', dismiss: '排除（误报）', reviewed: '已记录：{d}', marks: '时间轴标记',
    m_transcript: '发言', m_correction: '更正', m_flag: '提示', m_phase: '阶段', m_call_in: '传唤到庭',
    m_exhibit: '证据', m_clip: '片段', m_gap: '中断', failed: '操作失败：{m}', who: '导出谁的录像',
    d_confirmed: '已确认', d_dismissed: '已排除', d_pending: '待核查',
  },
  en: {
    play: 'Play', pause: 'Pause', around: 'Play ±{s} s', jump: 'Jump', flags: 'Flags',
    transcript: 'Transcript', corrected: 'corrected (original: {o})', noMedia: 'Nothing recorded here',
    exportClip: 'Export a clip (±{s} s around now)', exported: 'Exported, SHA-256: {h}',
    confirm: 'Confirm', dismiss: 'Dismiss (false alarm)', reviewed: 'Recorded: {d}', marks: 'Marks',
    m_transcript: 'speech', m_correction: 'correction', m_flag: 'flag', m_phase: 'phase', m_call_in: 'called in',
    m_exhibit: 'exhibit', m_clip: 'clip', m_gap: 'gap', failed: 'Failed: {m}', who: 'Whose recording to export',
    d_confirmed: 'Confirmed', d_dismissed: 'Dismissed', d_pending: 'Pending',
  },
};
const AROUND_S = 3;
const DRIFT_S = 0.35; // an element further than this from the timeline is re-seeked
const TICK_MS = 200;

function tr(key, params = {}) {
  let s = STRINGS[lang()]?.[key] ?? STRINGS['zh-CN'][key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

const fmt = (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, '0')}`;

/** The segment of ``track`` that holds timeline second ``t``, if any. */
function segmentAt(track, t) {
  return track.segments.find((s) => s.start <= t && t < s.end + 0.05) || null;
}

/**
 * Mount the player in ``root``. ``auth`` is the Authorization header value; ``canReview``: the
 * caller holds the inspector key (only inspectors confirm or dismiss flags).
 */
export async function mountReview(root, { hearingId, auth, flagId = null, canReview = false }) {
  const api = (path, options = {}) => fetch(path, {
    ...options, headers: { Authorization: auth, ...(options.headers || {}) }, cache: 'no-store', credentials: 'omit',
  });
  const res = await api(`/api/v1/hearings/${encodeURIComponent(hearingId)}/review`);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    replace(root, h('p', { class: 'notice error', role: 'alert', testid: 'review-error', text: tr('failed', { m: body.message || res.status }) }));
    return null;
  }
  const tl = await res.json();
  const player = new Player(root, tl, api, canReview);
  if (flagId) player.jumpToFlag(flagId);
  return player;
}

class Player {
  constructor(root, tl, api, canReview) {
    this.root = root;
    this.tl = tl;
    this.api = api;
    this.canReview = canReview;
    this.t = 0;
    this.playing = false;
    this.stopAt = null;
    this.lastTick = null;
    this.names = Object.fromEntries(tl.tracks.map((x) => [x.participant, x.display_name || x.participant]));
    this.focus = tl.flags[0]?.participant || tl.tracks.find((x) => x.kind === 'video')?.participant || null;
    this.render();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  render() {
    const tl = this.tl;
    this.elements = tl.tracks.map((track) => {
      const el = h(track.kind === 'video' ? 'video' : 'audio', {
        class: 'rv-media', preload: 'auto', playsinline: true, muted: track.kind === 'video' ? true : null,
        testid: `media-${track.participant}-${track.kind}`, dataset: { participant: track.participant, kind: track.kind },
      });
      return { track, el, seg: null };
    });
    const videos = this.elements.filter((e) => e.track.kind === 'video');
    this.playBtn = h('button', { type: 'button', class: 'btn primary', text: tr('play'), testid: 'rv-play', onclick: () => this.toggle() });
    this.clock = h('span', { class: 'rv-clock', testid: 'rv-clock', text: fmt(0) });
    this.bar = h('div', { class: 'rv-bar', testid: 'rv-bar', role: 'slider', tabindex: '0', 'aria-label': tr('marks'),
      'aria-valuemin': '0', 'aria-valuemax': String(Math.round(this.duration())),
      onclick: (ev) => {
        const box = this.bar.getBoundingClientRect();
        this.seek(((ev.clientX - box.left) / box.width) * this.duration());
      },
      onkeydown: (ev) => {
        const step = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 }[ev.key];
        if (step !== undefined) { ev.preventDefault(); this.seek(this.t + step); }
        if (ev.key === ' ') { ev.preventDefault(); this.toggle(); }
      } },
    tl.marks.map((m) => h('span', {
      class: `rv-mark rv-${m.type}`, title: `${tr(`m_${m.type}`)} ${fmt(m.t)} ${m.label}`,
      style: `left:${(100 * Math.max(0, m.t)) / this.duration()}%`, dataset: { type: m.type, ref: m.ref },
    })),
    this.cursor = h('span', { class: 'rv-cursor' }));
    this.lineEls = tl.lines.map((line) => h('li', {
      class: 'rv-line', testid: 'rv-line', dataset: { line: line.line_id, t0: line.t0, t1: line.t1 },
      onclick: () => this.seek(line.t0),
    },
    h('span', { class: 'rv-time', text: fmt(line.t0) }), ' ',
    h('strong', { text: this.names[line.speaker] || line.speaker }), ' ',
    h('span', { text: line.text }),
    line.earlier.length ? h('span', { class: 'small muted', text: ` · ${tr('corrected', { o: line.original })}` }) : null));
    this.flagPanel = h('div', { class: 'rv-flag', testid: 'rv-flag-panel' });
    this.exportResult = h('p', { class: 'small', testid: 'rv-export-result', hidden: true });
    replace(this.root,
      h('div', { class: 'rv-stage' }, videos.map(({ track, el }) => h('figure', { class: 'rv-tile', dataset: { participant: track.participant } },
        el, h('figcaption', { text: `${this.names[track.participant]} (${track.role || ''})` }),
        h('p', { class: 'rv-none muted small', text: tr('noMedia'), hidden: true })))),
      this.elements.filter((e) => e.track.kind === 'audio').map((e) => e.el),
      h('div', { class: 'rv-controls' }, this.playBtn, this.clock, this.bar),
      h('div', { class: 'insp-grid' },
        h('section', {}, h('h3', { text: tr('flags') }),
          h('ul', { class: 'rv-flags' }, this.tl.flags.map((f) => h('li', {},
            h('button', { type: 'button', class: 'btn small', testid: 'rv-jump', dataset: { flag: f.flag_id },
              text: `${tr('jump')} ${fmt(f.at)} · ${f.kind} · ${this.names[f.participant] || f.participant}`,
              onclick: () => this.jumpToFlag(f.flag_id) })))),
          this.flagPanel,
          h('label', { for: 'rv-who', text: tr('who') }), this.whoSelect(),
          h('button', { type: 'button', class: 'btn', testid: 'rv-export', text: tr('exportClip', { s: AROUND_S }), onclick: () => this.exportClip() }),
          this.exportResult),
        h('section', {}, h('h3', { text: tr('transcript') }), h('ol', { class: 'rv-lines', testid: 'rv-lines' }, this.lineEls))));
    this.update(true);
  }

  /** Whose recording an export cuts: a participant with a recorded track. */
  whoSelect() {
    const who = [...new Set(this.tl.tracks.map((x) => x.participant))];
    this.who = h('select', { id: 'rv-who', class: 'text-input', testid: 'rv-who', onchange: () => { this.focus = this.who.value; } },
      who.map((pid) => h('option', { value: pid, text: this.names[pid] || pid, selected: pid === this.focus })));
    return this.who;
  }

  duration() {
    return Math.max(1, this.tl.duration);
  }

  toggle() {
    this.playing ? this.pause() : this.play();
  }

  play(until = null) {
    this.playing = true;
    this.stopAt = until;
    this.lastTick = performance.now();
    this.playBtn.textContent = tr('pause');
    this.update(true);
  }

  pause() {
    this.playing = false;
    this.stopAt = null;
    this.playBtn.textContent = tr('play');
    for (const e of this.elements) e.el.pause();
  }

  seek(t) {
    this.t = Math.min(Math.max(0, t), this.duration());
    this.update(true);
  }

  jumpToFlag(flagId) {
    const flag = this.tl.flags.find((f) => f.flag_id === flagId);
    if (!flag) return;
    this.pause();
    this.focus = flag.participant;
    if (this.who) this.who.value = flag.participant;
    this.seek(flag.at);
    this.showFlag(flag);
  }

  showFlag(flag) {
    const note = h('textarea', { class: 'text-input', maxlength: '2000', testid: 'rv-note' }, flag.note || '');
    const result = h('p', { class: 'notice', hidden: true, role: 'status', testid: 'rv-review-result' });
    const review = async (disposition) => {
      const res = await this.api(`/api/v1/hearings/${encodeURIComponent(flag.hearing_id)}/flags/${encodeURIComponent(flag.flag_id)}/review`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ disposition, note: note.value }),
      });
      const body = await res.json().catch(() => ({}));
      result.hidden = false;
      result.className = res.ok ? 'notice ok' : 'notice error';
      result.textContent = res.ok ? tr('reviewed', { d: tr(`d_${disposition}`) }) : tr('failed', { m: body.message || res.status });
    };
    replace(this.flagPanel,
      h('p', { testid: 'rv-flag-title', dataset: { flag: flag.flag_id }, text: `${flag.kind} · ${this.names[flag.participant] || flag.participant} · ${fmt(flag.at)} · ${tr(`d_${flag.disposition}`)}` }),
      h('button', { type: 'button', class: 'btn', testid: 'rv-around', text: tr('around', { s: AROUND_S }), onclick: () => {
        this.seek(flag.at - AROUND_S);
        this.play(flag.at + AROUND_S);
      } }),
      this.canReview ? [note, h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn danger', text: tr('confirm'), testid: 'rv-confirm', onclick: () => review('confirmed') }),
        h('button', { type: 'button', class: 'btn', text: tr('dismiss'), testid: 'rv-dismiss', onclick: () => review('dismissed') })), result] : null);
  }

  async exportClip() {
    if (!this.focus) return;
    const res = await this.api(`/api/v1/hearings/${encodeURIComponent(this.tl.hearing_id)}/clips`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ participant: this.focus, t0: Math.max(0, this.t - AROUND_S), t1: this.t + AROUND_S }),
    });
    const body = await res.json().catch(() => ({}));
    this.exportResult.hidden = false;
    if (!res.ok) { this.exportResult.textContent = tr('failed', { m: body.message || res.status }); return; }
    replace(this.exportResult, tr('exported', { h: body.sha256 }), ' ',
      h('a', { href: body.url, download: `${body.sha256}.webm`, text: '⬇' }));
  }

  tick() {
    if (!this.root.isConnected) { clearInterval(this.timer); this.pause(); return; }
    if (!this.playing) return;
    const now = performance.now();
    this.t += (now - this.lastTick) / 1000;
    this.lastTick = now;
    if ((this.stopAt !== null && this.t >= this.stopAt) || this.t >= this.duration()) {
      this.t = Math.min(this.t, this.stopAt ?? this.duration());
      this.pause();
    }
    this.update(false);
  }

  /** Every element to its segment and position at this.t; ``hard``: seek even if close. */
  update(hard) {
    const t = this.t;
    for (const e of this.elements) {
      const seg = segmentAt(e.track, t);
      const tile = e.el.closest('figure');
      if (tile) tile.querySelector('.rv-none').hidden = !!seg;
      if (!seg) { e.el.pause(); e.seg = null; e.el.hidden = e.track.kind === 'video'; continue; }
      e.el.hidden = false;
      const at = t - seg.start;
      if (e.seg !== seg) {
        e.seg = seg;
        e.el.dataset.segStart = String(seg.start);
        e.el.dataset.file = seg.file;
        e.el.src = seg.url;
        e.el.addEventListener('loadedmetadata', () => { e.el.currentTime = Math.max(0, this.t - seg.start); }, { once: true });
      } else if (hard || Math.abs(e.el.currentTime - at) > DRIFT_S) {
        e.el.currentTime = Math.max(0, at);
      }
      if (this.playing && e.el.paused) e.el.play().catch(() => {});
      if (!this.playing && !e.el.paused) e.el.pause();
    }
    this.clock.textContent = fmt(t);
    this.bar.setAttribute('aria-valuenow', String(Math.round(t)));
    this.bar.setAttribute('aria-valuetext', fmt(t));
    this.cursor.style.left = `${(100 * t) / this.duration()}%`;
    this.root.dataset.t = t.toFixed(3);
    const current = this.lineAt(t);
    for (const el of this.lineEls) {
      const on = el.dataset.line === current?.line_id;
      if (on) el.setAttribute('aria-current', 'true'); else el.removeAttribute('aria-current');
    }
  }

  /** The line being spoken at ``t``: the one whose span holds it, else one that just ended. */
  lineAt(t) {
    const lines = this.tl.lines;
    return lines.find((l) => l.t0 <= t && t <= l.t1)
      || [...lines].reverse().find((l) => l.t0 <= t && t - l.t1 <= 1.0) || null;
  }
}

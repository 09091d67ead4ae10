// The inspector console: discipline flags across hearings, their evidence and recording, and
// the inspector's review. The inspector key is kept in memory only (never stored, never put in
// a URL); snapshots and recordings are fetched with it and shown from blob URLs.

import { h, replace } from '/js/dom.js';
import { lang, onLangChange, toggleLang } from '/js/i18n.js';
import { mountReview } from '/js/review.js';

const STRINGS = {
  'zh-CN': {
    title: '庭审纪律核查',
    langSwitch: 'English',
    keyTitle: '核查员登录',
    keyLead: '请输入核查员密钥。密钥只保存在本页面内存中，关闭页面即失效。',
    keyLabel: '核查员密钥',
    keyGo: '进入',
    keyBad: '密钥不正确。',
    network: '无法连接服务器，请稍后再试。',
    filters: '筛选',
    hearing: '庭审编号',
    participant: '参加人编号',
    kind: '类型',
    disposition: '处理结果',
    any: '全部',
    refresh: '刷新',
    flags: '疑似违规',
    none: '没有符合条件的记录。',
    case: '案号',
    who: '参加人',
    when: '时间（秒）',
    confidence: '置信度',
    open: '进行中',
    detail: '详情',
    pick: '请在左侧选择一条记录。',
    snapshot: '证据截图',
    noSnapshot: '没有截图。',
    recording: '录像片段',
    noRecording: '暂无录像片段（录像文件在分段结束后才会登记）。',
    clip: '证据片段（提示前后数秒）',
    noClip: '片段尚未生成（录像分段结束后剪辑，约需十余秒）。',
    openReview: '在回放器中查看整场庭审',
    player: '庭审录像回放',
    note: '核查意见',
    confirm: '确认违规',
    dismiss: '排除（误报）',
    reviewed: '已记录：{d}',
    stats: '统计',
    raised: '提示数',
    rate: '排除率',
    k_left_frame: '离开画面',
    k_extra_person: '画面中有他人',
    k_phone: '使用手机',
    k_identity_mismatch: '身份不符',
    k_loud_noise: '喧哗或噪声',
    d_pending: '待核查',
    d_confirmed: '已确认',
    d_dismissed: '已排除',
  },
  en: {
    title: 'Hearing discipline review',
    langSwitch: '中文',
    keyTitle: 'Inspector sign-in',
    keyLead: 'Enter the inspector key. It is kept in this page’s memory only and is gone when you close it.',
    keyLabel: 'Inspector key',
    keyGo: 'Enter',
    keyBad: 'That key is not right.',
    network: 'Cannot reach the server. Please try again.',
    filters: 'Filters',
    hearing: 'Hearing id',
    participant: 'Participant id',
    kind: 'Kind',
    disposition: 'Disposition',
    any: 'All',
    refresh: 'Refresh',
    flags: 'Flags',
    none: 'No flags match.',
    case: 'Case',
    who: 'Participant',
    when: 'Time (s)',
    confidence: 'Confidence',
    open: 'ongoing',
    detail: 'Details',
    pick: 'Pick a flag on the left.',
    snapshot: 'Evidence snapshot',
    noSnapshot: 'No snapshot.',
    recording: 'Recording',
    noRecording: 'No recording segment yet (files are logged when a segment ends).',
    clip: 'Evidence clip (seconds around the flag)',
    noClip: 'No clip yet (it is cut once the recording segment closes, some ten seconds on).',
    openReview: 'Open the whole hearing in the review player',
    player: 'Review player',
    note: 'Review note',
    confirm: 'Confirm',
    dismiss: 'Dismiss (false alarm)',
    reviewed: 'Recorded: {d}',
    stats: 'Statistics',
    raised: 'Raised',
    rate: 'Dismissal rate',
    k_left_frame: 'Left the frame',
    k_extra_person: 'Someone else in view',
    k_phone: 'Phone use',
    k_identity_mismatch: 'Identity mismatch',
    k_loud_noise: 'Loud noise',
    d_pending: 'Pending',
    d_confirmed: 'Confirmed',
    d_dismissed: 'Dismissed',
  },
};
const KINDS = ['left_frame', 'extra_person', 'phone', 'identity_mismatch', 'loud_noise'];
const DISPOSITIONS = ['pending', 'confirmed', 'dismissed'];

function tr(key, params = {}) {
  let s = STRINGS[lang()]?.[key] ?? STRINGS['zh-CN'][key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

let key = null; // the inspector key: memory only
const filters = { hearing: '', participant: '', kind: '', disposition: '' };
let flags = [];
let selected = null;
let blobUrls = [];
const root = document.getElementById('inspector');

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${key}`, ...(options.headers || {}) },
    cache: 'no-store',
    credentials: 'omit',
  });
  return res;
}

async function blobUrl(path) {
  const res = await api(path);
  if (!res.ok) return null;
  const url = URL.createObjectURL(await res.blob());
  blobUrls.push(url);
  return url;
}

function releaseBlobs() {
  for (const u of blobUrls) URL.revokeObjectURL(u);
  blobUrls = [];
}

function renderLogin(error = '') {
  const input = h('input', { id: 'insp-key', class: 'text-input', type: 'password', autocomplete: 'off', testid: 'insp-key' });
  const form = h('form', { class: 'code-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    key = input.value.trim();
    let res;
    try {
      res = await api('/api/v1/flags');
    } catch {
      renderLogin(tr('network'));
      return;
    }
    if (!res.ok) {
      key = null;
      renderLogin(tr('keyBad'));
      return;
    }
    flags = (await res.json()).flags;
    renderMain();
    loadStats();
  } },
    h('label', { for: 'insp-key', text: tr('keyLabel') }),
    input,
    error ? h('p', { class: 'notice error', role: 'alert', text: error, testid: 'insp-error' }) : null,
    h('button', { type: 'submit', class: 'btn primary big', text: tr('keyGo'), testid: 'insp-go' }),
  );
  replace(root, h('section', { class: 'card narrow' },
    h('h1', { text: tr('keyTitle') }), h('p', { class: 'lead', text: tr('keyLead') }), form));
}

function select(name, values, labelKey) {
  const el = h('select', { id: `f-${name}`, class: 'text-input', testid: `filter-${name}`,
    onchange: () => { filters[name] = el.value; loadFlags(); } },
  h('option', { value: '', text: tr('any') }),
  values.map((v) => h('option', { value: v, text: tr(`${labelKey}${v}`), selected: filters[name] === v })));
  return h('div', {}, h('label', { for: `f-${name}`, text: tr(name) }), el);
}

function textFilter(name) {
  const el = h('input', { id: `f-${name}`, class: 'text-input', value: filters[name], testid: `filter-${name}`,
    onchange: () => { filters[name] = el.value.trim(); loadFlags(); } });
  return h('div', {}, h('label', { for: `f-${name}`, text: tr(name) }), el);
}

function renderMain() {
  const table = flags.length === 0
    ? h('p', { class: 'muted', text: tr('none'), testid: 'no-flags' })
    : h('table', { class: 'insp', testid: 'flag-table' },
      h('thead', {}, h('tr', {}, [tr('kind'), tr('case'), tr('who'), tr('when'), tr('confidence'), tr('disposition')]
        .map((x) => h('th', { text: x })))),
      h('tbody', {}, flags.map((f) => h('tr', {
        class: 'flag-row', tabindex: '0', 'aria-selected': selected?.flag_id === f.flag_id ? 'true' : 'false',
        dataset: { flag: f.flag_id }, onclick: () => showFlag(f),
        onkeydown: (ev) => { if (ev.key === 'Enter') showFlag(f); },
      },
      h('td', { text: tr(`k_${f.kind}`) }),
      h('td', { text: f.case_number }),
      h('td', { text: `${f.display_name ?? ''} (${f.role ?? ''})` }),
      h('td', { text: `${f.t0.toFixed(1)} – ${f.t1 === null ? tr('open') : f.t1.toFixed(1)}` }),
      h('td', { text: f.confidence.toFixed(2) }),
      h('td', { text: tr(`d_${f.disposition}`), testid: 'flag-disposition' })))));
  replace(root,
    h('section', { class: 'card' },
      h('h2', { text: tr('filters') }),
      h('div', { class: 'insp-filters' },
        textFilter('hearing'), textFilter('participant'),
        select('kind', KINDS, 'k_'), select('disposition', DISPOSITIONS, 'd_'),
        h('button', { type: 'button', class: 'btn', text: tr('refresh'), onclick: () => { loadFlags(); loadStats(); } }))),
    h('div', { class: 'insp-grid', style: 'margin-top:1rem' },
      h('section', { class: 'card' }, h('h2', { text: tr('flags') }), table),
      h('section', { class: 'card', id: 'insp-detail', testid: 'flag-detail' },
        h('h2', { text: tr('detail') }), h('p', { class: 'muted', text: tr('pick') }))),
    h('section', { class: 'card', style: 'margin-top:1rem', id: 'insp-stats', testid: 'stats' },
      h('h2', { text: tr('stats') })));
  if (selected) {
    const again = flags.find((f) => f.flag_id === selected.flag_id);
    if (again) showFlag(again);
  }
}

async function loadFlags() {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  const res = await api(`/api/v1/flags?${q}`);
  if (res.status === 401) { key = null; renderLogin(tr('keyBad')); return; }
  flags = res.ok ? (await res.json()).flags : [];
  renderMain();
  loadStats();
}

async function loadStats() {
  const res = await api('/api/v1/flags/stats');
  if (!res.ok) return;
  const stats = await res.json();
  const el = document.getElementById('insp-stats');
  if (!el) return;
  const rows = Object.entries(stats.kinds);
  const pct = (r) => (r === null ? '—' : `${(r * 100).toFixed(0)}%`);
  replace(el, h('h2', { text: tr('stats') }),
    h('table', { class: 'insp' },
      h('thead', {}, h('tr', {}, [tr('kind'), tr('raised'), tr('d_confirmed'), tr('d_dismissed'), tr('d_pending'), tr('rate')]
        .map((x) => h('th', { text: x })))),
      h('tbody', {}, [...rows, ['*', stats.total]].map(([k, r]) => h('tr', { dataset: { kind: k } },
        h('td', { text: k === '*' ? tr('any') : tr(`k_${k}`) }),
        h('td', { text: r.raised }), h('td', { text: r.confirmed }), h('td', { text: r.dismissed }),
        h('td', { text: r.pending }), h('td', { text: pct(r.dismissal_rate), testid: `rate-${k}` }))))));
}

async function showFlag(flag) {
  selected = flag;
  releaseBlobs();
  for (const row of root.querySelectorAll('tr.flag-row')) {
    row.setAttribute('aria-selected', row.dataset.flag === flag.flag_id ? 'true' : 'false');
  }
  const detail = document.getElementById('insp-detail');
  const note = h('textarea', { id: 'insp-note', class: 'text-input', maxlength: '2000', testid: 'review-note' }, flag.note || '');
  const result = h('p', { class: 'notice', hidden: true, role: 'status', testid: 'review-result' });
  const review = async (disposition) => {
    const res = await api(`/api/v1/hearings/${encodeURIComponent(flag.hearing_id)}/flags/${encodeURIComponent(flag.flag_id)}/review`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ disposition, note: note.value }),
    });
    const body = await res.json().catch(() => ({}));
    result.hidden = false;
    result.className = res.ok ? 'notice ok' : 'notice error';
    result.textContent = res.ok ? tr('reviewed', { d: tr(`d_${disposition}`) }) : String(body.message || res.status);
    if (res.ok) {
      const i = flags.findIndex((f) => f.flag_id === flag.flag_id);
      if (i >= 0 && body.flag) flags[i] = body.flag;
      loadStats();
    }
  };
  const media = h('div', {}, h('p', { class: 'muted', text: '…' }));
  const clipBox = h('div', {}, h('p', { class: 'muted', text: tr('noClip'), testid: 'no-clip' }));
  replace(detail,
    h('h2', { text: `${tr(`k_${flag.kind}`)} · ${flag.case_number}` }),
    h('p', { class: 'small muted', text: `${flag.hearing_id} · ${flag.participant} · ${flag.flag_id}` }),
    h('h3', { text: tr('snapshot') }),
    flag.evidence_url ? h('img', { class: 'insp-snapshot', alt: tr('snapshot'), testid: 'snapshot', id: 'insp-snap' })
      : h('p', { class: 'muted', text: tr('noSnapshot') }),
    h('h3', { text: tr('clip') }), clipBox,
    h('button', { type: 'button', class: 'btn', text: tr('openReview'), testid: 'open-review', onclick: () => openReview(flag) }),
    h('h3', { text: tr('recording') }), media,
    h('label', { for: 'insp-note', text: tr('note') }), note,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn danger', text: tr('confirm'), testid: 'review-confirm', onclick: () => review('confirmed') }),
      h('button', { type: 'button', class: 'btn', text: tr('dismiss'), testid: 'review-dismiss', onclick: () => review('dismissed') })),
    result);
  if (flag.clip_url) {
    const url = await blobUrl(flag.clip_url);
    if (url) replace(clipBox, h('video', { class: 'insp-player', controls: true, preload: 'metadata', src: url, testid: 'clip-player' }));
  }
  if (flag.evidence_url) {
    const url = await blobUrl(flag.evidence_url);
    const img = document.getElementById('insp-snap');
    if (url && img) img.src = url;
  }
  const res = await api(flag.recordings_url);
  const segs = res.ok ? (await res.json()).segments.filter((s) => s.kind === 'video') : [];
  if (segs.length === 0) { replace(media, h('p', { class: 'muted', text: tr('noRecording') })); return; }
  // The segment that holds the flag's start, else the first overlapping one.
  const seg = segs.find((s) => s.start <= flag.t0 && flag.t0 <= s.end) || segs[0];
  const url = await blobUrl(seg.url);
  if (!url) { replace(media, h('p', { class: 'muted', text: tr('noRecording') })); return; }
  const video = h('video', { class: 'insp-player', controls: true, preload: 'metadata', src: url, testid: 'player' });
  video.addEventListener('loadedmetadata', () => { video.currentTime = seg.flag_offset; }, { once: true });
  replace(media, video, h('p', { class: 'small muted', text: `${seg.file} (${seg.start.toFixed(1)}–${seg.end.toFixed(1)} s)` }));
}

// The review player under the console, opened at the flag; the key stays in this page.
async function openReview(flag) {
  let section = document.getElementById('insp-review');
  if (!section) {
    section = h('section', { class: 'card', style: 'margin-top:1rem', id: 'insp-review', testid: 'review-section' });
    root.append(section);
  }
  const body = h('div', { testid: 'review' });
  replace(section, h('h2', { text: `${tr('player')} · ${flag.case_number}` }), body);
  section.scrollIntoView();
  await mountReview(body, { hearingId: flag.hearing_id, auth: `Bearer ${key}`, flagId: flag.flag_id, canReview: true });
}

function applyLang() {
  document.documentElement.lang = lang();
  document.title = tr('title');
  for (const el of document.querySelectorAll('[data-insp]')) el.textContent = tr(el.dataset.insp);
  for (const b of document.querySelectorAll('[data-insp-lang]')) b.textContent = tr('langSwitch');
  if (key) { renderMain(); loadStats(); } else renderLogin();
}

for (const b of document.querySelectorAll('[data-insp-lang]')) b.addEventListener('click', toggleLang);
onLangChange(applyLang);
applyLang();

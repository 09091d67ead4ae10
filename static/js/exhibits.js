// Exhibits and screen sharing in the browser (docs/protocol.md: exhibits REST routes,
// present_exhibit / stop_presenting / allow_presenting / share_screen, state.presenting).
//
//   exhibitsPanel(ctx)  -> the panel for the judge's console and the party/phone page
//
// The server decides everything: which exhibits this participant may know of (a waiting
// witness: none, so this panel is never drawn for one), what is on screen and at which page.
// Pages are PNGs the server renders, so everyone sees the same pixels; they are fetched with
// the session token and shown from blob URLs (no exhibit's PDF ever runs in this browser).

import { h } from './dom.js';
import { lang } from './i18n.js';
import { api } from './signing.js';

const TEXT = {
  'zh-CN': {
    title: '证据', onScreen: '正在出示', nothing: '当前没有出示证据。', page: '第 {n} / {of} 页',
    prev: '上一页', next: '下一页', stop: '停止出示', present: '出示', upload: '提交证据',
    choose: '选择文件（PDF、PNG 或 JPEG）', side: '代表', plaintiff: '原告', defendant: '被告',
    uploading: '正在上传…', uploaded: '已提交：{label}', failed: '提交失败：{reason}',
    none: '尚无证据。', allowExhibits: '允许出示证据', allowScreen: '允许共享屏幕',
    revoke: '收回', share: '共享屏幕', stopShare: '停止共享', sharing: '正在共享屏幕',
    noShare: '此设备无法共享屏幕（手机浏览器通常不支持）。请改为提交并出示证据文件。',
    shareFailed: '未能共享屏幕：{reason}', screens: '共享的屏幕', by: '出示人：{name}',
    loading: '正在载入页面…', pageFailed: '页面无法显示（{status}）',
    number: '编号', numberPrompt: '新的证据编号（例如 原告证据3）',
  },
  en: {
    title: 'Exhibits', onScreen: 'On screen', nothing: 'No exhibit is being shown.', page: 'Page {n} of {of}',
    prev: 'Previous page', next: 'Next page', stop: 'Stop presenting', present: 'Present', upload: 'Submit an exhibit',
    choose: 'Choose a file (PDF, PNG or JPEG)', side: 'For', plaintiff: 'Plaintiff', defendant: 'Defendant',
    uploading: 'Uploading…', uploaded: 'Submitted: {label}', failed: 'Not submitted: {reason}',
    none: 'No exhibits yet.', allowExhibits: 'Allow exhibits', allowScreen: 'Allow screen sharing',
    revoke: 'Revoke', share: 'Share my screen', stopShare: 'Stop sharing', sharing: 'Sharing your screen',
    noShare: 'This device cannot share a screen (phone browsers usually cannot). Submit and present the document as an exhibit instead.',
    shareFailed: 'Could not share the screen: {reason}', screens: 'Shared screens', by: 'Presented by {name}',
    loading: 'Loading the page…', pageFailed: 'The page cannot be shown ({status})',
    number: 'Number', numberPrompt: 'New court number (e.g. 原告证据3)',
  },
};

function tx(key, params = {}) {
  const table = TEXT[lang()] ?? TEXT['zh-CN'];
  return (table[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ''));
}

const SUBMITTERS = new Set(['plaintiff', 'defendant', 'lawyer']);
// exhibit_id/page -> {url} | {status} | 'loading': pages fetched with the token, kept as blobs.
const pages = new Map();
const local = { side: 'plaintiff', message: null, busy: false, screenError: null, sharing: null };

function pageImage(ctx, shown) {
  const key = `${shown.exhibit_id}/${shown.page}`;
  const got = pages.get(key);
  if (got === undefined) {
    pages.set(key, 'loading');
    const path = `/api/v1/hearings/${encodeURIComponent(ctx.S.hearingId)}/exhibits/${encodeURIComponent(shown.exhibit_id)}/pages/${shown.page}`;
    api(ctx.token(), 'GET', path, { blob: true }).then((res) => {
      pages.set(key, res.ok ? { url: URL.createObjectURL(res.blob) } : { status: res.status });
      ctx.render();
    });
  }
  if (!got || got === 'loading') return h('p', { class: 'slot-empty', text: tx('loading') });
  if (got.status !== undefined) return h('p', { class: 'notice error', text: tx('pageFailed', { status: got.status }) });
  return h('img', { class: 'exhibit-page', src: got.url, alt: `${shown.label} ${tx('page', { n: shown.page, of: shown.pages })}`,
    testid: 'exhibit-page-image', dataset: { exhibit: shown.exhibit_id, page: String(shown.page) } });
}

function mayPresent(ctx, P) {
  return ctx.S.me.role === 'judge' || P.may_present.includes(ctx.S.me.participant_id);
}

function onScreen(ctx, P) {
  const shown = P.showing;
  if (!shown) return h('p', { class: 'slot-empty', testid: 'exhibit-nothing', text: tx('nothing') });
  const mine = shown.presenter === ctx.S.me.participant_id || ctx.S.me.role === 'judge';
  const turn = (page) => ctx.run('present_exhibit', { exhibit_id: shown.exhibit_id, page });
  return h('figure', { class: 'exhibit-shown', testid: 'exhibit-shown',
    dataset: { exhibit: shown.exhibit_id, page: String(shown.page), label: shown.label } },
  h('figcaption', {},
    h('strong', { testid: 'exhibit-label', text: shown.label }), ` ${shown.filename} · `,
    h('span', { testid: 'exhibit-page-number', text: tx('page', { n: shown.page, of: shown.pages }) }), ' · ',
    tx('by', { name: ctx.personName(shown.presenter) })),
  pageImage(ctx, shown),
  mine ? h('div', { class: 'actions' },
    h('button', { class: 'btn secondary', type: 'button', testid: 'exhibit-prev', text: tx('prev'),
      disabled: shown.page <= 1, onclick: () => turn(shown.page - 1) }),
    h('button', { class: 'btn secondary', type: 'button', testid: 'exhibit-next', text: tx('next'),
      disabled: shown.page >= shown.pages, onclick: () => turn(shown.page + 1) }),
    h('button', { class: 'btn secondary', type: 'button', testid: 'exhibit-stop', text: tx('stop'),
      onclick: () => ctx.run('stop_presenting') })) : null);
}

function exhibitList(ctx, P, { present = true } = {}) {
  if (!P.exhibits.length) return h('p', { class: 'slot-empty', text: tx('none') });
  const open = ['opening', 'investigation', 'evidence', 'debate', 'final_statements'].includes(ctx.S.view.hearing.phase);
  const can = present && open && mayPresent(ctx, P);
  return h('ul', { class: 'people exhibits', testid: 'exhibit-list' }, P.exhibits.map((x) => h('li', {
    testid: `exhibit-${x.exhibit_id}`, dataset: { label: x.label } },
  h('span', { class: 'name', text: `${x.label} ${x.filename}` }),
  h('span', { class: 'role', text: `${x.pages} p · ${ctx.personName(x.participant)}` }),
  can ? h('button', { class: 'btn secondary', type: 'button', testid: `present-${x.exhibit_id}`, text: tx('present'),
    onclick: () => ctx.run('present_exhibit', { exhibit_id: x.exhibit_id, page: 1 }) }) : null,
  numberButton(ctx, x))));
}

// The clerk (or the judge) gives an exhibit its court number; the server checks it (unique,
// printable, at most 40 characters) and logs the old one.
function numberButton(ctx, x) {
  if (!['judge', 'clerk'].includes(ctx.S.me.role)) return null;
  return h('button', { class: 'btn secondary', type: 'button', testid: `number-${x.exhibit_id}`, text: tx('number'),
    onclick: () => {
      const label = window.prompt(tx('numberPrompt'), x.label);
      if (label !== null && label.trim() && label.trim() !== x.label) {
        ctx.run('number_exhibit', { exhibit_id: x.exhibit_id, label: label.trim() });
      }
    } });
}

async function upload(ctx, file) {
  if (!file) return;
  local.busy = true;
  local.message = { kind: 'info', text: tx('uploading') };
  ctx.render();
  const params = new URLSearchParams({ name: file.name || 'exhibit' });
  if (ctx.S.me.role === 'lawyer') params.set('side', local.side);
  const path = `/api/v1/hearings/${encodeURIComponent(ctx.S.hearingId)}/exhibits?${params}`;
  const res = await api(ctx.token(), 'POST', path, { body: file, type: file.type || 'application/octet-stream' });
  local.busy = false;
  local.message = res.ok
    ? { kind: 'ok', text: tx('uploaded', { label: res.body.label }) }
    : { kind: 'error', text: tx('failed', { reason: res.body?.message || res.status }) };
  ctx.render();
}

function uploadForm(ctx) {
  if (!SUBMITTERS.has(ctx.S.me.role)) return null;
  const input = h('input', { type: 'file', accept: 'application/pdf,image/png,image/jpeg', testid: 'exhibit-file',
    disabled: local.busy, 'aria-label': tx('choose'), onchange: (ev) => upload(ctx, ev.target.files?.[0]) });
  const side = ctx.S.me.role === 'lawyer'
    ? h('label', {}, `${tx('side')} `, h('select', { testid: 'exhibit-side',
      onchange: (ev) => { local.side = ev.target.value; } },
    ['plaintiff', 'defendant'].map((s) => h('option', { value: s, selected: s === local.side, text: tx(s) }))))
    : null;
  const msg = local.message
    ? h('p', { class: `notice ${local.message.kind === 'error' ? 'error' : ''}`, role: 'status', testid: 'exhibit-upload-status',
      dataset: { kind: local.message.kind }, text: local.message.text })
    : null;
  return h('div', { class: 'exhibit-upload' }, h('h3', { text: tx('upload') }), side, h('label', {}, `${tx('choose')} `, input), msg);
}

function permissions(ctx, P) {
  if (ctx.S.me.role !== 'judge') return null;
  const people = ctx.S.view.participants.filter((p) => p.presence === 'in_hearing' && !['judge', 'clerk'].includes(p.role));
  if (!people.length) return null;
  const toggle = (p, what, list, label) => {
    const on = list.includes(p.participant_id);
    return h('button', { class: `btn toggle ${on ? 'is-on' : 'is-off'}`, type: 'button', testid: `allow-${what}-${p.participant_id}`,
      'aria-pressed': on ? 'true' : 'false', text: on ? `${tx('revoke')}: ${tx(label)}` : tx(label),
      onclick: () => ctx.run('allow_presenting', { participant: p.participant_id, what, allowed: !on }) });
  };
  return h('ul', { class: 'people' }, people.map((p) => h('li', {},
    h('span', { class: 'name', text: p.display_name }),
    toggle(p, 'exhibits', P.may_present, 'allowExhibits'),
    toggle(p, 'screen', P.may_share, 'allowScreen'))));
}

async function startSharing(ctx) {
  local.screenError = null;
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (err) {
    local.screenError = tx('shareFailed', { reason: err?.name || 'Error' });
    ctx.render();
    return;
  }
  const track = stream.getVideoTracks()[0];
  local.sharing = track;
  track.addEventListener('ended', () => stopSharing(ctx)); // the browser's own "stop sharing"
  await ctx.media()?.setScreen(track);
  const res = await ctx.run('share_screen', { sharing: true });
  if (!res?.ok) await stopSharing(ctx, { tell: false });
  ctx.render();
}

async function stopSharing(ctx, { tell = true } = {}) {
  const track = local.sharing;
  local.sharing = null;
  track?.stop();
  await ctx.media()?.setScreen(null);
  if (tell) await ctx.run('share_screen', { sharing: false });
  ctx.render();
}

function screenControls(ctx, P) {
  const me = ctx.S.me.participant_id;
  const allowed = ctx.S.me.role === 'judge' || P.may_share.includes(me);
  if (!allowed) {
    if (local.sharing) stopSharing(ctx, { tell: false });
    return null;
  }
  const sharing = P.sharing.includes(me) && local.sharing;
  if (!navigator.mediaDevices?.getDisplayMedia) {
    return h('p', { class: 'notice', testid: 'screen-unsupported', text: tx('noShare') });
  }
  return h('div', { class: 'actions' },
    sharing
      ? h('button', { class: 'btn secondary', type: 'button', testid: 'screen-stop', text: tx('stopShare'), onclick: () => stopSharing(ctx) })
      : h('button', { class: 'btn', type: 'button', testid: 'screen-share', text: tx('share'), onclick: () => startSharing(ctx) }),
    sharing ? h('span', { class: 'tag', testid: 'screen-sharing', text: tx('sharing') }) : null,
    local.screenError ? h('p', { class: 'notice error', text: local.screenError }) : null);
}

function sharedScreens(ctx) {
  const remote = (ctx.media()?.remote() ?? []).filter((r) => r.kind === 'screen' && r.link === 'hearing');
  if (!remote.length) return null;
  return h('div', { class: 'tiles compact', testid: 'shared-screens' }, h('h3', { text: tx('screens') }),
    remote.map((r) => h('figure', { class: 'tile screen', testid: `screen-${r.source}`, dataset: { source: r.source } },
      r.element, h('figcaption', { text: ctx.personName(r.source) }))));
}

/**
 * The exhibits panel; null for someone who may know of none (never drawn in the waiting room).
 * `beforeHearing`: in the lobby, a party or lawyer may already submit (and sees their own).
 */
export function exhibitsPanel(ctx, { beforeHearing = false } = {}) {
  const P = ctx.S.view?.presenting;
  if (!P) return null;
  if (beforeHearing) {
    if (!SUBMITTERS.has(ctx.S.me.role)) return null;
    return h('section', { class: 'card panel', testid: 'panel-exhibits' },
      h('h2', { text: tx('title') }), exhibitList(ctx, P, { present: false }), uploadForm(ctx));
  }
  return h('section', { class: 'card panel', testid: 'panel-exhibits' },
    h('h2', { text: tx('title') }),
    h('h3', { text: tx('onScreen') }),
    onScreen(ctx, P),
    sharedScreens(ctx),
    screenControls(ctx, P),
    exhibitList(ctx, P),
    permissions(ctx, P),
    uploadForm(ctx));
}

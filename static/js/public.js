// The public page: no login. /public lists hearings on air and announced; /public/<hearing>
// plays one hearing's broadcast (HLS, with hls.js where the browser has no native HLS).
// It only reads the public REST API (docs/protocol.md, /openapi.json): no case parties.

const STRINGS = {
  zh: {
    title: '庭审公开', on_air: '正在直播', upcoming: '即将直播',
    none_on_air: '现在没有直播的庭审。', none_upcoming: '没有预告的庭审直播。',
    live: '直播中', paused: '直播暂停', announced: '尚未开始', ended: '直播已结束',
    missing: '没有这个公开庭审。', delay_note: '直播比庭审延迟 {s} 秒。', watch: '观看',
    lang: 'English',
  },
  en: {
    title: 'Public hearings', on_air: 'On air now', upcoming: 'Coming up',
    none_on_air: 'No hearing is on air now.', none_upcoming: 'No broadcast is announced.',
    live: 'Live', paused: 'The broadcast is paused', announced: 'Not started yet',
    ended: 'The broadcast has ended', missing: 'No such public hearing.',
    delay_note: 'The broadcast runs {s} s behind the hearing.', watch: 'Watch', lang: '中文',
  },
};
const ROLE = {
  zh: { judge: '审判员', clerk: '书记员', plaintiff: '原告', defendant: '被告', lawyer: '律师', interpreter: '翻译' },
  en: { judge: 'Judge', clerk: 'Clerk', plaintiff: 'Plaintiff', defendant: 'Defendant', lawyer: 'Lawyer', interpreter: 'Interpreter' },
};
let lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh'; // as i18n.js
const t = (key, params = {}) => STRINGS[lang][key].replace(/\{(\w+)\}/g, (_, k) => params[k] ?? '');
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

function applyStatic() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  document.getElementById('lang').textContent = t('lang');
  document.title = t('title');
}

function when(h) {
  const d = new Date(h.scheduled_for);
  return isNaN(d) ? h.scheduled_for : d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en');
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  return r.ok ? r.json() : null;
}

// --- the listing --------------------------------------------------------------------------

function item(h) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = h.page;
  a.textContent = `${h.court} · ${when(h)}`;
  a.dataset.testid = `public-item-${h.hearing_id}`;
  const status = document.createElement('span');
  status.className = 'muted';
  status.textContent = ` (${t(h.status)})`;
  li.append(a, status);
  return li;
}

async function showListing() {
  document.getElementById('listing').hidden = false;
  const data = await getJson('/api/v1/public/hearings');
  if (!data) return;
  for (const [key, list] of [['on-air', data.on_air], ['upcoming', data.upcoming]]) {
    $(`public-${key}`).replaceChildren(...list.map(item));
    $(`public-none-${key}`).hidden = list.length > 0;
  }
}

// --- one hearing ----------------------------------------------------------------------------

let player = null; // the hls.js instance
let playing = null; // the playlist URL being played

function play(video, url) {
  if (playing === url) return;
  stop(video);
  playing = url;
  if (window.Hls && window.Hls.isSupported()) {
    player = new window.Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 30 });
    player.on(window.Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) player.recoverMediaError();
      else { playing = null; } // reloaded at the next poll
    });
    player.loadSource(url);
    player.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = url; // Safari: native HLS
  }
  video.play().catch(() => {});
}

function stop(video) {
  if (player) player.destroy();
  player = null;
  playing = null;
  video.removeAttribute('src');
}

async function showCaptions(hid) {
  const data = await getJson(`/api/v1/public/hearings/${encodeURIComponent(hid)}/captions`);
  const box = $('public-captions');
  if (!data) return;
  box.hidden = false;
  box.replaceChildren(...data.captions.slice(-3).map((c) => {
    const p = document.createElement('p');
    p.textContent = `${ROLE[lang][c.speaker] ?? c.speaker}：${c.text}`;
    return p;
  }));
}

async function showHearing(hid) {
  document.getElementById('hearing').hidden = false;
  const video = $('public-video');
  const refresh = async () => {
    const h = await getJson(`/api/v1/public/hearings/${encodeURIComponent(hid)}`);
    if (!h) {
      $('public-status').textContent = t('missing');
      stop(video);
      return;
    }
    $('public-court').textContent = h.court;
    $('public-when').textContent = when(h);
    $('public-status').textContent = t(h.status);
    $('public-status').dataset.status = h.status;
    $('public-delay').textContent = t('delay_note', { s: h.delay_s });
    if (h.playlist) play(video, h.playlist);
    else if (h.status === 'ended') stop(video);
    if (h.captions && h.playlist) await showCaptions(hid);
  };
  await refresh();
  setInterval(refresh, 3000);
}

document.getElementById('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  applyStatic();
});
applyStatic();
const m = location.pathname.match(/^\/public\/([A-Za-z0-9_-]{1,64})\/?$/);
if (m) showHearing(m[1]);
else showListing();

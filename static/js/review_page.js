// The stand-alone review page (/review.html?h=<hearing>&flag=<flag>): a sign-in with the
// inspector key, the registry key or a judge's or clerk's session token (kept in memory only),
// then the review player (review.js).

import { h, replace } from '/js/dom.js';
import { lang, onLangChange, toggleLang } from '/js/i18n.js';
import { mountReview } from '/js/review.js';

const STRINGS = {
  'zh-CN': {
    title: '庭审录像回放', langSwitch: 'English', signIn: '查看庭审录像',
    lead: '请输入庭审编号和核查员密钥（或登记处密钥、法官或书记员的会话令牌）。凭据只保存在本页面内存中。',
    hearing: '庭审编号', credential: '密钥或令牌', go: '打开', inspectorKey: '这是核查员密钥（可确认或排除提示）',
  },
  en: {
    title: 'Hearing review', langSwitch: '中文', signIn: 'Review a hearing',
    lead: 'Enter the hearing id and the inspector key (or the registry key, or a judge’s or clerk’s session token). It is kept in this page’s memory only.',
    hearing: 'Hearing id', credential: 'Key or token', go: 'Open', inspectorKey: 'This is the inspector key (may confirm or dismiss flags)',
  },
};
const tr = (k) => STRINGS[lang()]?.[k] ?? STRINGS['zh-CN'][k] ?? k;
const root = document.getElementById('review');
const params = new URLSearchParams(location.search);
let opened = null;

function renderSignIn() {
  const hearing = h('input', { id: 'rv-hearing', class: 'text-input', value: params.get('h') || '', testid: 'rv-hearing' });
  const secret = h('input', { id: 'rv-secret', class: 'text-input', type: 'password', autocomplete: 'off', testid: 'rv-secret' });
  const inspector = h('input', { id: 'rv-inspector', type: 'checkbox', testid: 'rv-inspector' });
  const form = h('form', { class: 'code-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    opened = { hearingId: hearing.value.trim(), auth: `Bearer ${secret.value.trim()}`, canReview: inspector.checked };
    secret.value = '';
    await mountReview(root, { ...opened, flagId: params.get('flag') });
  } },
  h('label', { for: 'rv-hearing', text: tr('hearing') }), hearing,
  h('label', { for: 'rv-secret', text: tr('credential') }), secret,
  h('label', {}, inspector, ' ', tr('inspectorKey')),
  h('button', { type: 'submit', class: 'btn primary big', text: tr('go'), testid: 'rv-go' }));
  replace(root, h('section', { class: 'card narrow' }, h('h1', { text: tr('signIn') }), h('p', { class: 'lead', text: tr('lead') }), form));
}

function applyLang() {
  document.documentElement.lang = lang();
  document.title = tr('title');
  for (const el of document.querySelectorAll('[data-rv]')) el.textContent = tr(el.dataset.rv);
  for (const b of document.querySelectorAll('[data-rv-lang]')) b.textContent = tr('langSwitch');
  if (opened) mountReview(root, opened); else renderSignIn();
}

for (const b of document.querySelectorAll('[data-rv-lang]')) b.addEventListener('click', toggleLang);
onLangChange(applyLang);
applyLang();

// Every user-visible string, one table per language (i18n_zh.js, i18n_en.js). zh-CN is the
// default; English is one click away. The choice lives in memory only (kiosks keep nothing);
// `?lang=en` in the URL preselects it.

import { EN } from './i18n_en.js';
import { ZH_CN } from './i18n_zh.js';

const STRINGS = { 'zh-CN': ZH_CN, en: EN };

const initial = new URLSearchParams(location.search).get('lang');
let current = initial === 'en' ? 'en' : 'zh-CN';
const listeners = new Set();

export function lang() {
  return current;
}

export function setLang(code) {
  current = code in STRINGS ? code : 'zh-CN';
  document.documentElement.lang = current;
  for (const fn of listeners) fn(current);
}

export function toggleLang() {
  setLang(current === 'en' ? 'zh-CN' : 'en');
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** The string for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const table = STRINGS[current];
  let s = table[key] ?? STRINGS['zh-CN'][key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Fill every element carrying data-i18n (static pages) and wire the language button. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const btn of root.querySelectorAll('[data-lang-switch]')) {
    btn.textContent = t('lang.switch');
    btn.setAttribute('aria-label', t('lang.switchLabel'));
    btn.lang = current === 'en' ? 'zh-CN' : 'en';
  }
  document.title = t(document.body.dataset.titleKey || 'app.name');
}

export const KEYS_FOR_TESTS = { zh: Object.keys(STRINGS['zh-CN']), en: Object.keys(STRINGS.en) };

document.documentElement.lang = current;

// Signing: a WebCrypto ECDSA P-256 key made on this device (private key non-extractable,
// in memory only), the drawn signature (a PNG of the strokes), the witness oath and the
// frozen record. REST calls carry the latest session token as a bearer token.
//
// Server API (docs/client.md "Signing"):
//   GET  /api/v1/hearings/{hid}/oath     -> {text, hash, message}
//   GET  /api/v1/hearings/{hid}/record   -> {document_hash, message, text}
//   POST /api/v1/hearings/{hid}/strokes  (image/png) -> {sha256}
//   POST /api/v1/hearings/{hid}/seal     -> {...}; then GET .../record.pdf
//   websocket: register_signing_key {public_key}, sign_document {purpose, signed_hash,
//   signature, stroke_sha256}, refuse_to_sign {purpose, reason}
//   GET  /api/v1/hearings/{hid}/receipt?purpose=record|oath -> the court's receipt, kept on
//   this device after signing (receipt.js)
// Endpoints that answer 404 are shown as "not available on this server yet".

import { h } from './dom.js';
import { lang, t } from './i18n.js';
import { fetchReceipt, receiptPanel } from './receipt.js';

/** Per page session: the key pair and whether the server has the public key. */
export function newSigner() {
  return { keys: null, registered: false, objectUrls: [] };
}

export function forgetSigner(signer) {
  signer.keys = null;
  signer.registered = false;
  signer.gaveUp = false;
  signer.lastTry = 0;
  for (const url of signer.objectUrls) URL.revokeObjectURL(url);
  signer.objectUrls = [];
}

async function ensureKey(signer, run) {
  while (signer.pending) await signer.pending; // one registration at a time
  if (signer.keys && signer.registered) return { ok: true };
  signer.pending = registerKey(signer, run);
  try {
    return await signer.pending;
  } finally {
    signer.pending = null;
  }
}

async function registerKey(signer, run) {
  if (!signer.keys) {
    signer.keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  }
  if (!signer.registered) {
    const jwk = await crypto.subtle.exportKey('jwk', signer.keys.publicKey);
    const res = await run('register_signing_key', { public_key: JSON.stringify(jwk) });
    if (!res.ok) return res;
    signer.registered = true;
  }
  return { ok: true };
}

/**
 * Register the device key while the hearing is live, before the close: the frozen record
 * holds only keys registered up to the close (docs/record.md §1), so a key first
 * registered when signing after the close would leave the signature out of the sealed
 * record. `command` is quiet (no alert): before the identity check passes the server
 * refuses, and this is tried again (at most every 5 s) on the next state update.
 */
export async function registerKeyEarly(signer, command) {
  if (signer.registered || signer.pending || signer.gaveUp) return;
  if (Date.now() - (signer.lastTry ?? 0) < 5000) return;
  signer.lastTry = Date.now();
  const res = await ensureKey(signer, command);
  if (!res.ok && res.code === 'already_exists') signer.gaveUp = true; // a reload: see client.md
}

function b64(buf) {
  let s = '';
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s);
}

/** fetch with the bearer token; resolves {ok, status, body|blob, missing}. */
export async function api(token, method, path, { body = null, type = null, blob = false } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (type) headers['Content-Type'] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit',
      signal: AbortSignal.timeout(20000) });
  } catch {
    return { ok: false, status: 0, network: true };
  }
  const out = { ok: res.ok, status: res.status, missing: res.status === 404 || res.status === 405 };
  try {
    if (blob && res.ok) out.blob = await res.blob();
    else out.body = await res.json();
  } catch {
    out.body = {};
  }
  return out;
}

export function apiProblem(res) {
  if (res.network) return t('sign.network');
  if (res.missing) return t('sign.unavailable');
  return t('sign.failed', { reason: res.body?.message || res.body?.detail || res.status });
}

/** A canvas that takes finger, pen or mouse strokes; `pad.empty()`, `pad.png()`, `pad.clear()`. */
export function signaturePad(testid = 'signature-pad') {
  const canvas = h('canvas', { class: 'sig-pad', testid, width: 600, height: 200,
    'aria-label': t('sign.padLabel'), role: 'img' });
  const ctx = canvas.getContext('2d');
  let drawing = false;
  let strokes = 0;
  function reset() {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#0b1a33';
    ctx.lineWidth = 3;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    strokes = 0;
  }
  function point(ev) {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * (canvas.width / r.width), (ev.clientY - r.top) * (canvas.height / r.height)];
  }
  canvas.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture?.(ev.pointerId);
    drawing = true;
    const [x, y] = point(ev);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drawing) return;
    const [x, y] = point(ev);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    if (drawing) strokes += 1;
    drawing = false;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('pointerleave', end);
  reset();
  return {
    canvas,
    empty: () => strokes === 0,
    clear: reset,
    png: () => new Promise((resolve) => canvas.toBlob(resolve, 'image/png')),
  };
}

/**
 * Sign `message` (UTF-8) for `purpose` after uploading the stroke PNG. Resolves
 * {ok} or {ok:false, text}.
 */
async function signWith({ signer, run, token, hid }, pad, purpose, signedHash, message) {
  const key = await ensureKey(signer, run);
  if (!key.ok) return { ok: false, text: t('sign.keyRefused', { reason: key.reason || key.code || '' }) };
  const png = await pad.png();
  const up = await api(token(), 'POST', `/api/v1/hearings/${encodeURIComponent(hid)}/strokes`, { body: png, type: 'image/png' });
  const strokeSha = up.body?.stroke_sha256 ?? up.body?.sha256;
  if (!up.ok || !strokeSha) return { ok: false, text: apiProblem(up) };
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.keys.privateKey,
    new TextEncoder().encode(message));
  const res = await run('sign_document', { purpose, signed_hash: signedHash, signature: b64(sig),
    stroke_sha256: strokeSha });
  if (!res.ok) return { ok: false, text: t('sign.refusedByServer', { reason: res.reason || res.code || '' }) };
  return { ok: true };
}

/** After a logged signature: the court's receipt, fetched now and kept on the device. */
async function keepReceipt(ctx, purpose) {
  try {
    await fetchReceipt(ctx, purpose, api);
  } catch { /* the card fetches it again when shown */ }
}

/**
 * The oath card (a witness in the waiting room) or the record card (everyone after the close).
 * `ctx`: {S, run, render, token: () => string, hid, signer, done: bool (already answered)}.
 * The card's own state lives in `ui` (S.ui.sign[purpose]) so re-renders keep it.
 */
export function signingCard(ctx, purpose) {
  const { S, render } = ctx;
  S.ui.sign ??= {};
  const ui = (S.ui.sign[purpose] ??= { loaded: false, loading: false, doc: null, problem: null, busy: false,
    message: null, search: '', refusing: false, reason: '', pad: null });
  const key = purpose === 'oath' ? 'oath' : 'record';
  const answered = ctx.answered; // 'signed' | 'refused' | undefined
  const testid = `sign-${purpose}`;
  if (answered) {
    return h('section', { class: 'card sign-card done', testid, dataset: { status: answered } },
      h('h2', { text: t(`sign.${key}.title`) }),
      h('p', { class: 'notice ok', testid: `${testid}-status`, text: t(`sign.${answered}`) }),
      answered === 'signed' && ctx.pid ? receiptPanel(ctx, purpose, testid, api) : null);
  }
  if (!ui.loaded && !ui.loading) {
    ui.loading = true;
    const path = `/api/v1/hearings/${encodeURIComponent(ctx.hid)}/${purpose === 'oath' ? 'oath' : 'record'}`;
    api(ctx.token(), 'GET', path).then((res) => {
      ui.loading = false;
      ui.loaded = true;
      if (res.ok) ui.doc = res.body;
      else ui.problem = apiProblem(res);
      render();
    });
  }
  const parts = [h('h2', { text: t(`sign.${key}.title`) })];
  if (!ui.loaded) {
    parts.push(h('p', { class: 'muted', text: t('sign.loading') }));
  } else if (ui.problem) {
    parts.push(h('p', { class: 'notice warn-notice', testid: `${testid}-problem`, text: ui.problem }));
    parts.push(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn secondary', text: t('sign.retry'),
      onclick: () => { ui.loaded = false; ui.problem = null; render(); } })));
  } else {
    parts.push(h('p', { class: 'lead', text: t(`sign.${key}.lead`) }));
    if (purpose === 'record') {
      const search = h('input', { type: 'search', class: 'text-input', testid: `${testid}-search`,
        placeholder: t('sign.search'), 'aria-label': t('sign.search') });
      search.value = ui.search;
      search.addEventListener('input', () => { ui.search = search.value; render(); });
      parts.push(search);
    }
    parts.push(documentText(docText(ui.doc, purpose), purpose === 'record' ? ui.search : '', `${testid}-text`));
    ui.pad ??= signaturePad(`${testid}-pad`);
    parts.push(h('p', { class: 'small muted', text: t('sign.padHint') }), ui.pad.canvas);
    parts.push(h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn primary', testid: `${testid}-confirm`, disabled: ui.busy,
        text: t(`sign.${key}.confirm`), onclick: async () => {
          if (ui.pad.empty()) { ui.message = t('sign.drawFirst'); render(); return; }
          ui.busy = true; ui.message = t('sign.working'); render();
          const hash = purpose === 'oath' ? (ui.doc.oath_hash ?? ui.doc.hash) : ui.doc.document_hash;
          const res = await signWith(ctx, ui.pad, purpose, hash, ui.doc.message);
          ui.busy = false;
          ui.message = res.ok ? null : res.text;
          if (res.ok) {
            await keepReceipt(ctx, purpose);
            ctx.onAnswered?.('signed');
          }
          render();
        } }),
      h('button', { type: 'button', class: 'btn secondary', text: t('sign.clear'), onclick: () => ui.pad.clear() })));
    if (purpose === 'record') {
      if (ui.refusing) {
        const reason = h('input', { type: 'text', class: 'text-input', testid: `${testid}-reason`, maxlength: 2000,
          placeholder: t('sign.refuseReason'), 'aria-label': t('sign.refuseReason') });
        reason.value = ui.reason;
        reason.addEventListener('input', () => { ui.reason = reason.value; });
        parts.push(reason, h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn danger', testid: `${testid}-refuse-confirm`, text: t('sign.refuseConfirm'),
            onclick: async () => {
              if (!ui.reason.trim()) { ui.message = t('sign.refuseNeedsReason'); render(); return; }
              const res = await ctx.run('refuse_to_sign', { purpose, reason: ui.reason.trim() });
              if (res.ok) { ui.refusing = false; ctx.onAnswered?.('refused'); }
              render();
            } }),
          h('button', { type: 'button', class: 'btn secondary', text: t('console.cancel'),
            onclick: () => { ui.refusing = false; render(); } })));
      } else {
        parts.push(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn link', testid: `${testid}-refuse`,
          text: t('sign.refuse'), onclick: () => { ui.refusing = true; render(); } })));
      }
    }
  }
  if (ui.message) parts.push(h('p', { class: 'notice error', role: 'alert', testid: `${testid}-message`, text: ui.message }));
  return h('section', { class: 'card sign-card', testid }, parts);
}

/** The text to read: the record's plain rendering, or the oath statement being signed. */
function docText(doc, purpose) {
  if (!doc) return '';
  if (purpose === 'record') return String(doc.text ?? '');
  return String(doc.statement?.text ?? doc.text ?? (lang() === 'en' ? doc.text_en : doc.text_zh) ?? '');
}

/** Plain text, line by line; lines matching `query` are marked and counted. */
function documentText(text, query, testid) {
  const q = query.trim().toLowerCase();
  const lines = text.split('\n');
  let hits = 0;
  const items = lines.map((line) => {
    const hit = q && line.toLowerCase().includes(q);
    if (hit) hits += 1;
    return h('div', { class: `doc-line${hit ? ' hit' : ''}` }, line || '\u00a0');
  });
  return h('div', {},
    q ? h('p', { class: 'small muted', testid: `${testid}-hits`, text: t('sign.hits', { n: hits }) }) : null,
    h('div', { class: 'doc-text', testid, tabindex: 0, dataset: { scrollKeep: testid } }, items));
}

// The signer's receipt (docs/record.md §7, issue 12): after a successful sign_document the
// page fetches GET /api/v1/hearings/{hid}/receipt?purpose=record|oath with the latest
// session token and keeps it on this device (localStorage, key
// `courtroom.receipt/<hearing>/<participant>/<purpose>`; in memory only on a kiosk, whose
// storage is wiped between sessions). The card shows the hash signed, offers the receipt as
// a JSON file for `courtroom verify --receipt FILE`, and checks a sealed record.pdf against
// it in the browser:
//   * record.json is taken from the PDF's embedded files (FlateDecode streams inflated
//     with DecompressionStream), its `document` hashed as canonical JSON (RFC 8785) with
//     SHA-256, exactly as courtroom.record.document.document_hash does;
//   * the same hearing, the signed hash (record), the signer's own signature in
//     record.json, and the acknowledged chain head (seq, hash) in the attached audit log.
// The court's signature on the receipt (an X.509 certificate chain up to the court's root)
// and the PDF's seal are not checked here: `courtroom verify --receipt` checks them.

import { h } from './dom.js';
import { t } from './i18n.js';

const PREFIX = 'courtroom.receipt';
const memory = new Map(); // kiosk: never written to the device's storage

export function receiptKey(hid, pid, purpose) {
  return `${PREFIX}/${hid}/${pid}/${purpose}`;
}

export function loadReceipt(ctx, purpose) {
  const key = receiptKey(ctx.hid, ctx.pid, purpose);
  if (memory.has(key)) return memory.get(key);
  if (ctx.S.kiosk) return null;
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function storeReceipt(ctx, purpose, receipt) {
  const key = receiptKey(ctx.hid, ctx.pid, purpose);
  memory.set(key, receipt);
  if (ctx.S.kiosk) return;
  try {
    localStorage.setItem(key, JSON.stringify(receipt));
  } catch { /* storage full or refused: the in-memory copy and the download remain */ }
}

function usable(receipt, ctx, purpose) {
  const b = receipt?.body;
  return !!b && b.format === 'courtroom-receipt/1' && b.hearing_id === ctx.hid
    && b.participant_id === ctx.pid && b.purpose === purpose && typeof b.signed_hash === 'string';
}

const inflight = new Map(); // one fetch per receipt at a time

/**
 * Fetch the court's receipt for this signer's latest `purpose` signature and keep it. A
 * receipt already kept for the same chain head stays as it is (each fetch is a new
 * signature by the court over a new issued_at).
 */
export function fetchReceipt(ctx, purpose, api) {
  const key = receiptKey(ctx.hid, ctx.pid, purpose);
  if (!inflight.has(key)) {
    inflight.set(key, getReceipt(ctx, purpose, api).finally(() => inflight.delete(key)));
  }
  return inflight.get(key);
}

async function getReceipt(ctx, purpose, api) {
  const path = `/api/v1/hearings/${encodeURIComponent(ctx.hid)}/receipt?purpose=${encodeURIComponent(purpose)}`;
  const res = await api(ctx.token(), 'GET', path);
  if (!res.ok || !usable(res.body, ctx, purpose)) return { ok: false, res };
  const kept = loadReceipt(ctx, purpose);
  const head = res.body.body.chain_head;
  if (kept && kept.body?.chain_head?.seq === head?.seq && kept.body?.chain_head?.hash === head?.hash) {
    return { ok: true, receipt: kept };
  }
  storeReceipt(ctx, purpose, res.body);
  return { ok: true, receipt: res.body };
}

// ------------------------------------------------------------------ the check

/** RFC 8785 canonical JSON of a value parsed with JSON.parse (ECMAScript number form). */
export function canonicalJson(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 requires.
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
}

async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The decoded data of every /Type /EmbeddedFile stream in the PDF (every revision). */
export async function embeddedFiles(pdf) {
  // One char per byte, so string offsets are byte offsets.
  const s = new TextDecoder('latin1').decode(pdf);
  const out = [];
  const re = /\/Type\s*\/EmbeddedFile(?![A-Za-z0-9#])/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const objStart = Math.max(0, s.lastIndexOf(' obj', m.index));
    const kw = s.indexOf('stream', m.index);
    if (kw < 0) continue;
    const dict = s.slice(objStart, kw);
    let start = kw + 6;
    if (s[start] === '\r' && s[start + 1] === '\n') start += 2;
    else if (s[start] === '\n' || s[start] === '\r') start += 1;
    const len = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dict);
    let end = len ? start + Number(len[1]) : s.indexOf('endstream', start);
    if (end < start || end > pdf.length) continue;
    if (!len) while (end > start && (s[end - 1] === '\n' || s[end - 1] === '\r')) end -= 1;
    let data = pdf.subarray(start, end);
    const filter = /\/Filter\s*\[?\s*\/([A-Za-z0-9]+)/.exec(dict);
    if (filter && filter[1] !== 'FlateDecode') continue; // nothing else is written by the seal
    if (filter) {
      try {
        data = await inflate(data);
      } catch {
        continue;
      }
    }
    out.push(data);
  }
  return out;
}

function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

function parseLog(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const lines = text.split('\n').filter((x) => x);
  const entries = [];
  for (const line of lines) {
    try {
      const e = JSON.parse(line);
      if (typeof e?.seq !== 'number' || typeof e?.hash !== 'string') return null;
      entries.push(e);
    } catch {
      return null;
    }
  }
  return entries.length ? entries : null;
}

/**
 * Is `pdf` (a Uint8Array) the record the receipt's holder signed? Resolves
 * {result: 'match'|'mismatch'|'unreadable', reason, hash}.
 */
export async function checkRecordFile(receipt, pdf) {
  const body = receipt.body;
  const files = await embeddedFiles(pdf);
  const records = [];
  const logs = [];
  for (const f of files) {
    const j = parseJson(f);
    if (j && typeof j === 'object' && j.document && 'document_hash' in j && Array.isArray(j.signatures)) {
      records.push(j);
      continue;
    }
    const log = j === undefined ? parseLog(f) : null;
    if (log) logs.push(log);
  }
  if (!records.length) return { result: 'unreadable', reason: t('receipt.noRecordJson') };
  const hashes = new Set();
  for (const r of records) hashes.add(await sha256Hex(new TextEncoder().encode(canonicalJson(r.document))));
  if (hashes.size > 1 || records.length > 1) return { result: 'mismatch', reason: t('receipt.twoRecords') };
  const record = records[0];
  const [hash] = hashes;
  const pid = body.participant_id;
  const hid = record.document?.meta?.hearing_id;
  if (hid !== body.hearing_id) {
    return { result: 'mismatch', hash, reason: t('receipt.otherHearing', { got: String(hid), want: body.hearing_id }) };
  }
  if (body.purpose === 'record' && hash !== body.signed_hash) {
    return { result: 'mismatch', hash, reason: t('receipt.hashDiffers', { got: hash.slice(0, 16), want: body.signed_hash.slice(0, 16) }) };
  }
  if (record.document_hash !== hash) {
    return { result: 'mismatch', hash, reason: t('receipt.hashFieldWrong') };
  }
  const head = body.chain_head ?? {};
  if (logs.length !== 1 || !logs[0].some((e) => e.seq === head.seq && e.hash === head.hash)) {
    return { result: 'mismatch', hash, reason: t('receipt.headMissing', { seq: String(head.seq) }) };
  }
  if (!record.signatures.some((s) => s?.participant_id === pid && s?.purpose === body.purpose
      && s?.signed_hash === body.signed_hash)) {
    return { result: 'mismatch', hash, reason: t('receipt.signatureMissing') };
  }
  return { result: 'match', hash };
}

// ------------------------------------------------------------------ the card

function download(receipt) {
  const b = receipt.body;
  const blob = new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `receipt-${b.hearing_id}-${b.participant_id}-${b.purpose}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** Shown under "You have signed": the receipt kept, its download and the record check. */
export function receiptPanel(ctx, purpose, testid, api) {
  const { S, render } = ctx;
  S.ui.receipt ??= {};
  const ui = (S.ui.receipt[purpose] ??= { fetching: false, problem: null, check: null, checking: false });
  const receipt = loadReceipt(ctx, purpose);
  if (!receipt && !ui.fetching && !ui.problem) {
    ui.fetching = true;
    fetchReceipt(ctx, purpose, api).then((r) => {
      ui.fetching = false;
      if (!r.ok) ui.problem = t('receipt.failed', { reason: r.res.body?.message || r.res.status });
      render();
    });
  }
  const id = `${testid}-receipt`;
  if (!receipt) {
    return h('div', { class: 'receipt', testid: id, dataset: { state: ui.problem ? 'failed' : 'loading' } },
      ui.problem
        ? [h('p', { class: 'notice warn-notice', testid: `${id}-problem`, text: ui.problem }),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn secondary', text: t('sign.retry'),
            onclick: () => { ui.problem = null; render(); } }))]
        : h('p', { class: 'muted', text: t('receipt.loading') }));
  }
  const file = h('input', { type: 'file', accept: 'application/pdf,.pdf', testid: `${id}-check-file`,
    'aria-label': t('receipt.checkLabel') });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    ui.checking = true; ui.check = null; render();
    try {
      ui.check = { name: f.name, ...(await checkRecordFile(receipt, new Uint8Array(await f.arrayBuffer()))) };
    } catch (exc) {
      ui.check = { name: f.name, result: 'unreadable', reason: String(exc?.message ?? exc) };
    }
    ui.checking = false;
    render();
  });
  const c = ui.check;
  const verdict = c && h('div', { class: `notice ${c.result === 'match' ? 'ok' : 'error'}`, role: 'status',
    testid: `${id}-check-result`, dataset: { result: c.result } },
  h('strong', { text: t(`receipt.${c.result}`) }),
  h('span', { text: ` ${c.name}` }),
  c.reason ? h('p', { class: 'small', text: c.reason }) : null);
  return h('div', { class: 'receipt', testid: id, dataset: { state: 'kept' } },
    h('p', { class: 'notice ok', testid: `${id}-kept`,
      text: t(S.kiosk ? 'receipt.keptKiosk' : 'receipt.kept') }),
    h('p', { class: 'small' }, t('receipt.hash'), ' ',
      h('code', { class: 'hash', testid: `${id}-hash`, text: receipt.body.signed_hash })),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn secondary', testid: `${id}-download`, text: t('receipt.download'),
        onclick: () => download(receipt) })),
    h('h3', { text: t('receipt.checkLabel') }),
    h('p', { class: 'small muted', text: t('receipt.checkScope') }),
    file,
    ui.checking ? h('p', { class: 'muted', text: t('receipt.checking') }) : verdict);
}

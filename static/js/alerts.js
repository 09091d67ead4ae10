// The bench's alerts: what goes into the list (discipline flags, others' refused commands,
// refused access, the server falling behind) and how an alert is put into words. Shown in the console (console.js).

import { t } from './i18n.js';

export function addAlert(S, key, p = {}, kind = 'warn') {
  S.alerts.unshift({ key, params: p, kind, at: new Date() });
  S.alerts.length = Math.min(S.alerts.length, 50);
}

function cmdLabel(name) {
  const key = `cmd.${name}`;
  return t(key) === key ? name : t(key);
}

/** A refusal in the reader's language, with the server's own words for the record. */
function refusalText(code, reason) {
  const key = `refusal.${code}`;
  const label = t(key);
  if (label === key) return reason || code || '';
  return reason ? `${label}（${reason}）` : label;
}

function accessText(reason) {
  const key = `access.${reason}`;
  return t(key) === key ? reason : t(key);
}

// Alert parameters are kept raw and put into words when shown, so a language switch
// re-words old alerts too.
export function alertText(alert) {
  const p = { ...alert.params };
  if (p.command !== undefined) p.command = cmdLabel(p.command);
  if (p.refusal !== undefined) p.reason = refusalText(p.refusal, p.reason);
  if (p.access !== undefined) p.reason = accessText(p.access);
  if (p.flag !== undefined) p.flag = t(`flag.${p.flag}`) === `flag.${p.flag}` ? p.flag : t(`flag.${p.flag}`);
  return t(alert.key, p);
}

/** An event the bench is alerted to (judge and clerk only). */
export function onBenchEvent(S, msg, personName) {
  const ev = msg.event;
  if (ev.type === 'flag_raised') {
    S.flags.set(ev.flag_id, { participant: ev.participant, kind: ev.kind, at: msg.at ? new Date(msg.at) : new Date() });
    addAlert(S, 'alert.flag', { who: personName(ev.participant), flag: ev.kind }, 'flag');
    S.alerts[0].flagId = ev.flag_id;
  } else if (ev.type === 'flag_closed') {
    const f = S.flags.get(ev.flag_id);
    if (f) {
      f.closedAt = msg.at ? new Date(msg.at) : new Date();
      addAlert(S, 'alert.flagClosed', { who: personName(f.participant), flag: f.kind }, 'flag-closed');
    }
  }
  if (ev.type === 'node_strained') {
    addAlert(S, 'alert.strained', { ms: Math.round(ev.lag_p99_ms) }, 'security');
  } else if (ev.type === 'node_recovered') {
    addAlert(S, 'alert.recovered', { s: Math.round(ev.strained_s) }, 'flag-closed');
  }
  if (ev.type === 'command_rejected' && msg.actor !== S.me?.participant_id) {
    addAlert(S, 'alert.rejected', { who: personName(msg.actor), command: ev.command, refusal: ev.code, reason: ev.reason });
  } else if (ev.type === 'access_refused') {
    addAlert(S, 'alert.refused', { who: personName(ev.participant), access: ev.reason }, 'security');
  }
}

// The console's memory across a closed and reopened page (judge and clerk only): the last
// event seq it received (the `hello`'s `after`), and the transcript and chat it showed, so a
// reopened console shows everything once: what it had, then what it missed, from the server.
// Kept in localStorage per hearing and participant; forgotten once the hearing is sealed.
// Never the token: a reopened console joins with a new code, as before.

const PREFIX = 'courtroom.console.v1';

function key(hearingId, participantId) {
  return `${PREFIX}.${hearingId}.${participantId}`;
}

export function loadMemory(hearingId, participantId) {
  try {
    const raw = localStorage.getItem(key(hearingId, participantId));
    const m = raw ? JSON.parse(raw) : null;
    return m && typeof m.cursor === 'number' ? m : null;
  } catch {
    return null; // storage off or a damaged entry: start from the beginning
  }
}

export function saveMemory(hearingId, participantId, memory) {
  try {
    localStorage.setItem(key(hearingId, participantId), JSON.stringify(memory));
  } catch {
    /* full or off: a reopened console then catches up from the start */
  }
}

export function forgetMemory(hearingId, participantId) {
  try { localStorage.removeItem(key(hearingId, participantId)); } catch { /* none */ }
}

/** Transcript lines as JSON and back (Dates as ISO text). */
export function linesSnapshot(T) {
  return T.lines.map((l) => ({ ...l, at: l.at?.toISOString?.() ?? l.at, correctedAt: l.correctedAt?.toISOString?.() }));
}
export function restoreLines(T, lines) {
  for (const l of lines ?? []) {
    if (!l || typeof l.id !== 'string' || T.byId.has(l.id)) continue;
    const line = { ...l, at: new Date(l.at), correctedAt: l.correctedAt ? new Date(l.correctedAt) : undefined };
    T.lines.push(line);
    T.byId.set(line.id, line);
  }
}

// REST calls the participant app makes: only the exchange of a join code for a session token.

/**
 * POST /api/v1/sessions. Resolves to {ok: true, session} or {ok: false, kind, reason}, where
 * kind is 'wrong' | 'used' | 'expired' | 'locked' | 'network' | 'other'.
 */
export async function openSession(hearingId, participantId, code) {
  let res;
  try {
    res = await fetch('/api/v1/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ hearing_id: hearingId, participant_id: participantId, code }),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(15000),
    });
  } catch {
    return { ok: false, kind: 'network', reason: '' };
  }
  let body = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: keep the status */
  }
  if (res.status === 201 && body.token) return { ok: true, session: body };
  const message = String(body.message || res.statusText || res.status);
  // The server's message starts with the refusal (courtroom/server/auth.py AuthFailure).
  let kind = 'other';
  if (res.status === 429 || message.startsWith('too many wrong codes')) kind = 'locked';
  else if (message.startsWith('join code already used')) kind = 'used';
  else if (message.startsWith('join code expired')) kind = 'expired';
  else if (message.startsWith('wrong join code')) kind = 'wrong';
  return { ok: false, kind, reason: message };
}

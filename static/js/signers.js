// Who signs, and the signing cards (signing.js) as the app places them: the witness's oath
// in the waiting room, the frozen record after the close. `ctx` is the app's:
// {S, run, render, signer}.

import { h } from './dom.js';
import { t } from './i18n.js';
import { signingCard } from './signing.js';

export const SIGNERS = new Set(['judge', 'clerk', 'plaintiff', 'defendant', 'lawyer', 'witness', 'interpreter']);

export function signContext(ctx, purpose) {
  const { S, run, render, signer } = ctx;
  const mine = S.signing[S.me.participant_id] ?? {};
  return {
    S, run, render, signer, hid: S.hearingId, pid: S.me.participant_id, token: () => S.conn?.token ?? null,
    answered: mine[purpose],
    onAnswered: (what) => {
      (S.signing[S.me.participant_id] ??= {})[purpose] = what;
    },
  };
}

/** The witness's oath, while the hearing is live (and the signed card after). */
export function oathCardFor(ctx) {
  const { S } = ctx;
  const phase = S.view.hearing.phase;
  const oathOpen = S.me.role === 'witness' && phase !== 'closed' && phase !== 'sealed';
  return oathOpen || S.signing[S.me.participant_id]?.oath === 'signed' ? signingCard(signContext(ctx, 'oath'), 'oath') : null;
}

/** After the close: the frozen record to read and sign (or refuse), for those who sign. */
export function recordCardFor(ctx, me) {
  const { S } = ctx;
  if (!me || !SIGNERS.has(S.me.role)) return null;
  const phase = S.view.hearing.phase;
  // Once sealed, a signer keeps the card: their receipt and the check of the sealed file.
  if (phase !== 'closed' && !(phase === 'sealed' && S.signing[S.me.participant_id]?.record === 'signed')) return null;
  if (S.me.role === 'witness' && me.presence !== 'in_hearing') {
    // The server gives a witness the record only in the hearing (isolation); say so plainly.
    return h('section', { class: 'card', testid: 'sign-record-outside' },
      h('h2', { text: t('sign.record.title') }),
      h('p', { class: 'notice', text: t('sign.witnessOutside') }));
  }
  return signingCard(signContext(ctx, 'record'), 'record');
}

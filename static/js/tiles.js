// The hearing's pictures as the parties' pages and the console show them: a tile per source
// on the hearing link, the own camera small, and the own microphone/camera toggles.
// `ctx` is the app's: {S, run, media()} (media() is the current peer, media.js, or null).

import { h } from './dom.js';
import { t } from './i18n.js';

/** The own camera, small, so a participant knows what the court sees. */
export function selfView(ctx, me) {
  const media = ctx.media();
  const el = media?.localVideo();
  const off = me?.self_muted?.includes('video') || me?.cut?.includes('video');
  if (!el) {
    const err = media?.state().localError;
    return err ? h('p', { class: 'notice error', testid: 'media-error', text: t('media.localFailed', { name: err }) }) : null;
  }
  return h('figure', { class: `tile self${off ? ' off' : ''}`, testid: 'self-view' },
    off ? h('div', { class: 'tile-off', text: t('media.camOff') }) : el,
    h('figcaption', { text: t('media.you') }));
}

/**
 * Tiles for what the hub forwards on the hearing link, one per source, labelled with the
 * source's display name. A source the state shows as not in the hearing, or with the camera
 * off or cut, shows a plain placeholder instead of a frozen picture.
 */
export function hearingTiles(ctx, { compact = false } = {}) {
  const { S } = ctx;
  const media = ctx.media();
  const byId = new Map((S.view?.participants ?? []).map((p) => [p.participant_id, p]));
  const groups = new Map();
  const sealed = S.view?.hearing?.phase === 'sealed'; // no routes any more: no frozen pictures
  for (const r of sealed ? [] : media?.remote() ?? []) {
    if (r.link !== 'hearing') continue;
    const p = byId.get(r.source);
    if (p && p.presence !== 'in_hearing') continue;
    const g = groups.get(r.source) ?? {};
    g[r.kind] = r;
    groups.set(r.source, g);
  }
  const tiles = [...groups].map(([source, g]) => {
    const p = byId.get(source);
    const camOff = !g.video || p?.cut?.includes('video') || p?.self_muted?.includes('video') || g.video.track.muted;
    const micOff = !g.audio || p?.cut?.includes('audio') || p?.self_muted?.includes('audio');
    return h('figure', { class: `tile${camOff ? ' off' : ''}`, testid: `tile-${source}`, dataset: { source } },
      camOff ? h('div', { class: 'tile-off', text: t('media.camOff') }) : g.video.element,
      h('figcaption', {},
        h('span', { class: 'tile-name', text: p ? p.display_name : t('media.unknown') }),
        p ? h('span', { class: 'tile-role', text: t(`role.${p.role}`) }) : null,
        micOff ? h('span', { class: 'tile-mic-off', text: t('media.micOff') }) : null));
  });
  const state = media?.state().connection;
  let status = null;
  if (sealed) {
    status = h('p', { class: 'slot-empty', testid: 'media-status', text: t('media.ended') });
  } else if (!tiles.length) {
    status = h('p', { class: 'slot-empty', testid: 'media-status', dataset: { state: state ?? 'none' },
      text: t(state === 'connected' ? 'media.nobody' : 'media.connecting') });
  }
  return h('div', { class: `tiles${compact ? ' compact' : ''}`, testid: 'hearing-tiles', dataset: { count: String(tiles.length) } },
    tiles, status);
}

export function muteControls(ctx, me, { compact = false } = {}) {
  const kinds = [
    ['audio', 'hearing.mic', 'hearing.muteMic', 'hearing.unmuteMic'],
    ['video', 'hearing.cam', 'hearing.muteCam', 'hearing.unmuteCam'],
  ];
  return h('div', { class: `mute-controls${compact ? ' compact' : ''}` }, kinds.map(([kind, label, off, on]) => {
    const muted = me?.self_muted?.includes(kind);
    const cut = me?.cut?.includes(kind);
    return h('button', {
      type: 'button', class: `btn toggle ${muted || cut ? 'is-off' : 'is-on'}`, testid: `self-mute-${kind}`,
      'aria-pressed': muted ? 'true' : 'false', dataset: { muted: muted ? 'true' : 'false' }, disabled: cut,
      onclick: () => { ctx.media()?.setMuted(kind, !muted); ctx.run('set_self_mute', { kind, muted: !muted }); },
    },
    h('span', { class: 'toggle-label', text: `${t(label)}: ${t(muted || cut ? 'hearing.off' : 'hearing.on')}` }),
    h('span', { class: 'toggle-action', text: cut ? t('hearing.cutByJudge') : t(muted ? on : off) }));
  }));
}

// Media: NOT WIRED YET. The signalling format between this page and the media hub is being
// finalised by the media engineer; until then nothing here is called with real data, and the
// pages show plain placeholders instead of video. Nothing is faked.
//
// Intended interface (so the pages need not change when media arrives):
//   const media = createMedia({ sendSignal: (data) => conn.signal(data), container });
//   await media.attachLocalStream(stream);    // the participant's camera + microphone
//   media.handleSignal(data);                 // every server `signal` message's `data`
//   media.onRemoteTrack((participantId, track, link) => ...);  // link: 'hearing' | 'supervision'
//   media.setMuted(kind, muted);              // mirror set_self_mute locally (track.enabled)
//   media.close();                            // stop every track, close the peer connection
//
// Isolation is the server's job (routing.py media_plan): this module shows whatever tracks the
// hub sends and decides nothing about who may see or hear whom.

export function createMedia({ sendSignal, container } = {}) {
  const listeners = new Set();
  let local = null;
  return {
    wired: false,
    async attachLocalStream(stream) {
      local = stream;
    },
    handleSignal(data) {
      // Ignored until the signalling format is settled; see docs/client.md.
      void data;
      void sendSignal;
      void container;
    },
    onRemoteTrack(fn) {
      listeners.add(fn);
    },
    setMuted(kind, muted) {
      if (!local) return;
      const tracks = kind === 'audio' ? local.getAudioTracks() : local.getVideoTracks();
      for (const track of tracks) track.enabled = !muted;
    },
    close() {
      if (local) for (const track of local.getTracks()) track.stop();
      local = null;
      listeners.clear();
    },
  };
}

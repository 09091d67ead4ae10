// Media: one RTCPeerConnection per websocket, answering the server's offers
// (docs/protocol.md "Media signalling", docs/media.md). The server is the only offerer.
//
//   const media = createMedia({ sendSignal: (data) => conn.signal(data), onChange: render });
//   media.hello();              // after every `welcome` (a new websocket): (re)start the peer
//   media.handleSignal(data);   // every server `signal` message's `data`
//   media.remote();             // [{mid, source, kind, link, track, element}] — what the hub sends
//   media.localVideo();         // a <video> of the own camera (muted), or null
//   media.setMuted(kind, muted);// mirror set_self_mute locally (track.enabled)
//   media.inboundByLink();      // {hearing: bytes, supervision: bytes} from getStats()
//   media.close();              // stop every track, close the peer connection
//
// Isolation is the server's job (domain/routing.py media_plan): this module shows whatever
// tracks the hub sends, labelled by the `tracks` map of the offer, and decides nothing about
// who may see or hear whom.

const GATHER_TIMEOUT_MS = 5000;

export function createMedia({ sendSignal, onChange = () => {}, audioHost = document.body } = {}) {
  let pc = null;
  let iceServers = [];
  // 'relay' when the court requires TURN only (phones behind strict firewalls), or when the
  // page was opened with ?relay=1 (a clerk helping a participant whose network blocks UDP)
  let iceTransportPolicy = 'all';
  const relayAsked = new URLSearchParams(location.search).get('relay') === '1';
  let peers = 0; // peers made so far: tells a reconnection's peer from the one before
  let local = null; // MediaStream of the own camera + microphone
  let localPromise = null;
  let localError = null;
  const muted = new Set(); // kinds the participant turned off
  let tracks = {}; // mid -> info, from the latest offer
  let screen = null; // a shared screen's track (getDisplayMedia), while sharing
  const remote = new Map(); // mid -> {track, element}
  let chain = Promise.resolve();
  let closed = false;
  let localVideoEl = null;
  const audioBox = document.createElement('div');
  audioBox.hidden = true;
  audioBox.dataset.testid = 'remote-audio';
  audioHost.append(audioBox);

  function changed() {
    try {
      onChange();
    } catch (err) {
      console.error(err);
    }
  }

  async function ensureLocal() {
    if (local) return local;
    if (!localPromise) {
      localPromise = (async () => {
        try {
          const stream = await navigator.mediaDevices.getUserMedia({
            audio: true,
            video: { width: { ideal: 640 }, height: { ideal: 360 }, facingMode: 'user' },
          });
          if (closed) {
            for (const tr of stream.getTracks()) tr.stop();
            return null;
          }
          local = stream;
          for (const kind of muted) setEnabled(kind, false);
          localError = null;
          return local;
        } catch (err) {
          localError = err?.name || 'Error';
          return null;
        } finally {
          localPromise = null;
        }
      })();
    }
    return localPromise;
  }

  function setEnabled(kind, on) {
    if (!local) return;
    for (const tr of kind === 'audio' ? local.getAudioTracks() : local.getVideoTracks()) tr.enabled = on;
  }

  function dropPeer() {
    if (pc) {
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      try {
        pc.close();
      } catch {
        /* already closed */
      }
    }
    pc = null;
    for (const r of remote.values()) {
      if (r.element) {
        r.element.srcObject = null;
        r.element.remove();
      }
    }
    remote.clear();
    tracks = {};
  }

  function newPeer() {
    dropPeer();
    peers += 1;
    pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: 'max-bundle' });
    const mine = pc;
    pc.ontrack = (ev) => {
      if (pc !== mine) return;
      const mid = ev.transceiver?.mid;
      if (mid == null) return;
      attachRemote(mid, ev.track);
    };
    pc.onconnectionstatechange = () => {
      if (pc === mine) changed();
    };
    return pc;
  }

  function attachRemote(mid, track) {
    const old = remote.get(mid);
    if (old?.track === track) return;
    if (old?.element) {
      old.element.srcObject = null;
      old.element.remove();
    }
    const kind = track.kind;
    const el = document.createElement(kind === 'video' ? 'video' : 'audio');
    el.autoplay = true;
    el.playsInline = true;
    el.dataset.mid = mid;
    if (kind === 'video') {
      el.muted = true; // sound comes from the audio elements
      el.className = 'remote-video';
    } else {
      audioBox.append(el);
    }
    el.srcObject = new MediaStream([track]);
    el.play?.().catch(() => {});
    track.addEventListener('ended', () => changed());
    remote.set(mid, { track, element: el });
    changed();
  }

  async function onOffer(data) {
    if (closed) return;
    if (!pc) newPeer();
    const offerTracks = data.tracks && typeof data.tracks === 'object' ? data.tracks : {};
    const wantsLocal = Object.values(offerTracks).some((x) => x && x.publish);
    if (wantsLocal) await ensureLocal();
    if (closed || !pc) return;
    const mine = pc;
    tracks = offerTracks;
    // A mid the offer no longer names was retired by the server (e.g. hearing tracks after a
    // send-back): its m-line stays, inactive; drop what we built for it.
    for (const [mid, r] of remote) {
      if (tracks[mid]) continue;
      if (r.element) {
        r.element.srcObject = null;
        r.element.remove();
      }
      remote.delete(mid);
    }
    await mine.setRemoteDescription({ type: 'offer', sdp: data.sdp });
    for (const tr of mine.getTransceivers()) {
      const info = tracks[tr.mid];
      if (!info) continue;
      if (info.publish) {
        await tr.sender.replaceTrack(publishTrack(info.publish));
        tr.direction = 'sendrecv';
      } else if (tr.receiver?.track && !remote.has(tr.mid)) {
        attachRemote(tr.mid, tr.receiver.track);
      }
    }
    const answer = await mine.createAnswer();
    await mine.setLocalDescription(answer);
    await gathered(mine);
    if (pc !== mine || closed) return;
    sendSignal({ type: 'answer', sdp: mine.localDescription.sdp, seq: data.seq });
    changed();
  }

  /** What goes on a `{publish: kind}` mid: the microphone, the camera, or a shared screen. */
  function publishTrack(kind) {
    if (kind === 'screen') return screen && screen.readyState === 'live' ? screen : null;
    if (!local) return null;
    return (kind === 'audio' ? local.getAudioTracks() : local.getVideoTracks())[0] ?? null;
  }

  function gathered(peer) {
    if (peer.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        peer.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      const check = () => {
        if (peer.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, GATHER_TIMEOUT_MS); // send what was gathered
      peer.addEventListener('icegatheringstatechange', check);
    });
  }

  function queue(fn) {
    chain = chain.then(fn).catch((err) => console.error('media:', err));
    return chain;
  }

  return {
    /** A new websocket: start a fresh peer (the server builds a new one too). */
    hello() {
      if (closed) return;
      queue(() => {
        dropPeer();
        sendSignal({ type: 'hello' });
        changed();
      });
    },
    handleSignal(data) {
      if (!data || typeof data !== 'object' || closed) return;
      if (data.type === 'config') {
        iceServers = Array.isArray(data.iceServers) ? data.iceServers : [];
        iceTransportPolicy = data.iceTransportPolicy === 'relay' || relayAsked ? 'relay' : 'all';
        queue(() => { newPeer(); });
      } else if (data.type === 'offer' && typeof data.sdp === 'string') {
        queue(() => onOffer(data));
      }
    },
    /** The forwarded tracks with their labels from the offer. */
    remote() {
      const out = [];
      for (const [mid, r] of remote) {
        const info = tracks[mid];
        if (!info || info.publish || r.track.readyState === 'ended') continue;
        out.push({ mid, source: info.source, kind: info.kind || r.track.kind, link: info.link || 'hearing',
          track: r.track, element: r.element });
      }
      return out;
    },
    localVideo() {
      const track = local?.getVideoTracks()[0];
      if (!track) return null;
      if (!localVideoEl || localVideoEl.srcObject?.getVideoTracks()[0] !== track) {
        localVideoEl = document.createElement('video');
        localVideoEl.autoplay = true;
        localVideoEl.muted = true;
        localVideoEl.playsInline = true;
        localVideoEl.className = 'local-video';
        localVideoEl.srcObject = new MediaStream([track]);
        localVideoEl.play?.().catch(() => {});
      }
      return localVideoEl;
    },
    state() {
      return { connection: pc?.connectionState ?? 'new', localError };
    },
    /**
     * Share a screen (a getDisplayMedia track) or stop (null): swapped on the `{publish: 'screen'}`
     * mid with replaceTrack, so no new offer is needed. The server routes it only while the
     * court's log says this participant shares (share_screen) and the judge has not cut it.
     */
    async setScreen(track) {
      screen = track;
      if (!pc) return;
      for (const tr of pc.getTransceivers()) {
        if (tracks[tr.mid]?.publish === 'screen') await tr.sender.replaceTrack(publishTrack('screen'));
      }
    },
    setMuted(kind, on) {
      if (on) muted.add(kind);
      else muted.delete(kind);
      setEnabled(kind, !on);
    },
    async inboundByLink() {
      const out = { hearing: 0, supervision: 0 };
      if (!pc) return out;
      const midOfTrack = new Map(pc.getTransceivers().map((tr) => [tr.receiver.track?.id, tr.mid]));
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const mid = s.mid ?? midOfTrack.get(s.trackIdentifier);
        const link = tracks[mid]?.link ?? 'unlabelled';
        out[link] = (out[link] ?? 0) + (s.bytesReceived ?? 0);
      });
      return out;
    },
    /** The selected ICE pair's candidate types and the policy in force (support: "is this
     * phone going through the TURN server?"), with inbound video frames decoded. */
    async iceRoute() {
      const out = { peer: peers, policy: iceTransportPolicy, local: null, remote: null, framesDecoded: 0 };
      if (!pc) return out;
      const report = await pc.getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded ?? 0;
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = byId.get(s.selectedCandidatePairId);
        out.local = byId.get(pair?.localCandidateId)?.candidateType ?? null;
        out.remote = byId.get(pair?.remoteCandidateId)?.candidateType ?? null;
      });
      return out;
    },
    /** Inbound bytes per `link/kind` of the offer's labels (e.g. `hearing/screen`), from getStats. */
    async inboundByKind() {
      const out = {};
      if (!pc) return out;
      const midOfTrack = new Map(pc.getTransceivers().map((tr) => [tr.receiver.track?.id, tr.mid]));
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const info = tracks[s.mid ?? midOfTrack.get(s.trackIdentifier)];
        const key = `${info?.link ?? 'unlabelled'}/${info?.kind ?? s.kind}`;
        out[key] = (out[key] ?? 0) + (s.bytesReceived ?? 0);
      });
      return out;
    },
    /** Stop the camera and microphone and close the peer; nothing is left running. */
    close() {
      closed = true;
      try {
        sendSignal({ type: 'bye' });
      } catch {
        /* the socket may be gone */
      }
      dropPeer();
      if (local) for (const tr of local.getTracks()) tr.stop();
      screen?.stop();
      screen = null;
      local = null;
      if (localVideoEl) localVideoEl.srcObject = null;
      localVideoEl = null;
      audioBox.remove();
      changed();
    },
    get closed() {
      return closed;
    },
  };
}

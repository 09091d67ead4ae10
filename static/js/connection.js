// The hearing websocket (docs/protocol.md): hello, commands with results, automatic
// reconnection with the latest single-use token. The token lives in this object only —
// never in localStorage, sessionStorage, cookies or the URL — so a kiosk keeps nothing.

const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 40000; // no message (not even a pong) for this long: the link is dead
const RESULT_TIMEOUT_MS = 10000;
// Short and capped at 2 s: after a node dies its hearings are placed elsewhere within ~5-7 s
// (docs/operations.md, "Failover"), and a longer wait would add most of itself to the outage.
const BACKOFF_MS = [500, 1000, 1000, 2000];

// Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes").
const FINAL_CLOSE = {
  4400: 'protocol',
  4401: 'token',
  4403: 'refused',
  4409: 'replaced',
};

export class CourtConnection {
  /**
   * @param {object} o
   * @param {string} o.token     the session token from POST /api/v1/sessions
   * @param {(msg: object) => void} o.onMessage   every server message
   * @param {(status: string, detail?: object) => void} o.onStatus
   *        'connecting' | 'connected' | 'reconnecting' | 'stopped' (detail: {why, code, reason})
   */
  constructor({ token, onMessage, onStatus }) {
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.status = 'idle';
    this.attempt = 0;
    this.pending = new Map();
    this.counter = 0;
    this.stopped = false;
    this.refusal = null;
    this.everConnected = false;
    this.timers = { retry: null, ping: null };
    this.lastHeard = 0;
    // The last event seq this page received: sent as the
    // hello's `after` on a reconnect, so the server sends what was missed, none twice. Set
    // by the console before start() when it reopens (memory.js); the token is never stored.
    this.cursor = null;
    this._onOffline = () => this._drop('offline');
    this._onOnline = () => {
      if (this.status === 'reconnecting') this._retryNow();
    };
    window.addEventListener('offline', this._onOffline);
    window.addEventListener('online', this._onOnline);
  }

  start() {
    this._open();
  }

  /** Stop for good (leaving, or the court ended the session). */
  stop(detail = { why: 'ended' }) {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
    window.removeEventListener('offline', this._onOffline);
    window.removeEventListener('online', this._onOnline);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, code: 'not_connected', name: p.name });
    }
    this.pending.clear();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
    this.token = null; // nothing to reconnect with, nothing left behind
    this._setStatus('stopped', detail);
  }

  /** Send a command; resolves with the `result` message (ok true or false). */
  command(name, args = {}) {
    if (this.status !== 'connected' || !this.ws) {
      return Promise.resolve({ ok: false, code: 'not_connected', name });
    }
    const id = `c${++this.counter}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, code: 'timeout', name });
      }, RESULT_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer, name });
      this._send({ type: 'command', id, name, args });
    });
  }

  signal(data) {
    this._send({ type: 'signal', data });
  }

  _send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ v: 1, ...obj }));
    }
  }

  _setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }

  _open() {
    if (this.stopped) return;
    // Several nodes: a `redirect` names the node that holds the hearing; any other close
    // sends us back to where we started (the proxy), which redirects again if need be.
    const redirected = this.redirectTo;
    this.redirectTo = null;
    const url = redirected ? new URL(redirected) : new URL('/ws', location.href);
    if (!redirected) url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this._setStatus(this.everConnected ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      const hello = { v: 1, type: 'hello', token: this.token };
      if (this.cursor !== null) hello.after = this.cursor;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this._handle(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return; // an old socket we already gave up on
      this.ws = null;
      clearInterval(this.timers.ping);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.resolve({ ok: false, code: 'not_connected', name: p.name });
        this.pending.delete(id);
      }
      if (this.stopped) return;
      const why = FINAL_CLOSE[ev.code];
      if (ev.code === 4307 && this.pendingRedirect) {
        this.redirectTo = this.pendingRedirect; // the token was not spent: go there now
        this.pendingRedirect = null;
        this._open();
      } else if (why) {
        this.stop({ why: this.refusal ? 'refused' : why, code: this.refusal?.code ?? ev.code,
          reason: this.refusal?.reason ?? ev.reason });
      } else {
        this._scheduleRetry();
      }
    };
  }

  _handle(msg) {
    switch (msg.type) {
      case 'welcome':
        this.token = msg.token;
        this.attempt = 0;
        this.everConnected = true;
        this._setStatus('connected');
        clearInterval(this.timers.ping);
        this.timers.ping = setInterval(() => this._heartbeat(), PING_EVERY_MS);
        break;
      case 'token':
        this.token = msg.token;
        return; // nothing for the page
      case 'redirect':
        this.pendingRedirect = msg.url;
        return;
      case 'refused':
        this.refusal = { code: msg.code, reason: msg.reason };
        break;
      case 'result': {
        const p = this.pending.get(msg.id);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(msg.id);
          p.resolve({ ...msg, name: p.name });
        }
        return;
      }
      case 'pong':
        return;
      case 'event':
        if (typeof msg.seq === 'number') {
          if (this.cursor !== null && msg.seq <= this.cursor) return; // already shown
          this.cursor = msg.seq;
        }
        break;
      default:
        break;
    }
    this.onMessage(msg);
  }

  _heartbeat() {
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      this._drop('silence');
      return;
    }
    this._send({ type: 'ping', id: `p${Date.now()}` });
  }

  /** The link is gone (offline event, or silence): show it and start reconnecting. */
  _drop() {
    if (this.stopped || !this.ws) return;
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.timers.ping);
    try {
      ws.close(4000, 'network lost');
    } catch {
      /* already closing */
    }
    ws.onclose = null;
    this._scheduleRetry();
  }

  _scheduleRetry() {
    if (this.stopped) return;
    this._setStatus('reconnecting');
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this._open(), base + Math.random() * 250);
  }

  _retryNow() {
    clearTimeout(this.timers.retry);
    this.attempt = 0;
    if (!this.ws) this._open();
  }
}

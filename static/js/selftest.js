// Camera and microphone self-test: a local preview and an audio level meter.
// Nothing leaves the device; every track is stopped when the test ends.

import { h } from './dom.js';
import { t } from './i18n.js';

const GUIDANCE = {
  NotAllowedError: 'selftest.denied',
  SecurityError: 'selftest.denied',
  NotFoundError: 'selftest.notFound',
  OverconstrainedError: 'selftest.notFound',
  NotReadableError: 'selftest.busy',
  AbortError: 'selftest.busy',
};

/**
 * Render the self-test into `root`; `onDone()` is called when the participant taps Enter.
 * Returns a `stop()` that releases the camera and microphone.
 */
export function renderSelfTest(root, { onDone }) {
  let stream = null;
  let audioCtx = null;
  let raf = 0;
  let stopped = false;

  const video = h('video', { class: 'preview', autoplay: true, playsinline: true, muted: true,
    testid: 'selftest-video', 'aria-label': t('selftest.title') });
  video.muted = true;
  const bar = h('div', { class: 'meter-bar', testid: 'selftest-meter' });
  const meter = h('div', { class: 'meter', role: 'meter', 'aria-label': t('selftest.level'),
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, bar);
  const message = h('p', { class: 'notice', testid: 'selftest-message', role: 'status',
    text: t('selftest.starting') });
  const retry = h('button', { class: 'btn secondary', type: 'button', testid: 'selftest-retry',
    text: t('selftest.retry'), onclick: () => start() });
  const enter = h('button', { class: 'btn primary big', type: 'button', testid: 'selftest-enter',
    text: t('selftest.enter'), onclick: () => { stop(); onDone(); } });

  root.replaceChildren(
    h('section', { class: 'card narrow', testid: 'screen-selftest' },
      h('h1', { text: t('selftest.title') }),
      h('p', { class: 'lead', text: t('selftest.lead') }),
      h('div', { class: 'preview-box' }, video),
      h('div', { class: 'meter-row' }, h('span', { text: t('selftest.level') }), meter),
      message,
      h('p', { class: 'small muted', text: t('selftest.note') }),
      h('div', { class: 'actions' }, enter, retry),
    ),
  );

  function release() {
    cancelAnimationFrame(raf);
    if (audioCtx) audioCtx.close().catch(() => {});
    audioCtx = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
  }

  function stop() {
    stopped = true;
    release();
  }

  async function start() {
    release();
    message.className = 'notice';
    message.dataset.state = 'starting';
    message.textContent = t('selftest.starting');
    if (!navigator.mediaDevices?.getUserMedia) {
      fail('selftest.insecure');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: { ideal: 640 }, height: { ideal: 360 }, facingMode: 'user' },
      });
    } catch (err) {
      const name = err?.name || 'Error';
      fail(GUIDANCE[name] || 'selftest.failed', { name });
      return;
    }
    if (stopped) {
      release();
      return;
    }
    video.srcObject = stream;
    video.play().catch(() => {});
    meterLoop();
    message.className = 'notice ok';
    message.dataset.state = 'ok';
    message.textContent = t('selftest.ok');
    enter.textContent = t('selftest.enter');
  }

  function fail(key, params) {
    message.className = 'notice error';
    message.dataset.state = 'failed';
    message.textContent = t(key, params);
    enter.textContent = t('selftest.enterAnyway');
  }

  function meterLoop() {
    try {
      audioCtx = new AudioContext();
      const source = audioCtx.createMediaStreamSource(stream);
      const analyser = audioCtx.createAnalyser();
      analyser.fftSize = 2048;
      source.connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      const tick = () => {
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const x of buf) sum += x * x;
        const rms = Math.sqrt(sum / buf.length);
        const pct = Math.min(100, Math.round(rms * 400));
        bar.style.width = `${pct}%`;
        meter.setAttribute('aria-valuenow', String(pct));
        meter.dataset.peak = String(Math.max(Number(meter.dataset.peak || 0), pct));
        raf = requestAnimationFrame(tick);
      };
      tick();
    } catch {
      /* no Web Audio: the preview alone still helps */
    }
  }

  start();
  return stop;
}

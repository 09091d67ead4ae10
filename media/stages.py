"""Analysis taps: decode each source once, off the event loop, never holding up forwarding.

A :class:`DecodeWorker` is a :class:`~media.forward.FrameSink` on a source hub. It
takes encoded frames into a bounded queue (full: the frame is dropped and
counted; video then skips to the next keyframe) and decodes them in its own
thread (PyAV releases the GIL). Decoded output goes to:

* :class:`AudioTap`: 16 kHz mono s16 frames in a bounded queue; a slow consumer
  loses the oldest frames (counted in ``dropped``), the hub never waits.
* :class:`LatestFrameTap`: only the newest decoded video frame; vision samples it
  at 1–2 fps.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av

from courtroom.vision.loudness import rms_dbfs
from media.forward import EncodedFrame
from media.quiet import MISMATCH_DBFS, Check, QuietAudio, Silence

log = logging.getLogger(__name__)

_DECODERS = {"video/vp8": "libvpx", "video/h264": "h264", "audio/opus": "libopus"}


class AudioTap:
    """Decoded audio resampled to 16 kHz mono s16, bounded, drop-oldest; audio the sender
    marked quiet comes as :class:`~media.quiet.Silence` (a sample count) instead."""

    def __init__(self, *, maxlen: int = 250) -> None:  # 250 x 20 ms = 5 s of audio
        self._frames: deque[Any] = deque()
        self._maxlen = maxlen
        self._ready = asyncio.Event()
        self.dropped = 0
        self.delivered = 0
        self.last_arrival: float | None = None  # monotonic arrival of the frame last taken

    def _put(self, frame: Any, arrived: float | None = None) -> None:
        if len(self._frames) >= self._maxlen:
            self._frames.popleft()
            self.dropped += 1
        # Stamped with the packet's arrival (time.monotonic()), so that a reader that falls
        # behind under load still places each frame on the recording clock where it was heard.
        self._frames.append((frame, time.monotonic() if arrived is None else arrived))
        self._ready.set()

    def pending(self) -> int:
        return len(self._frames)

    async def get(self, timeout: float | None = None) -> Any:
        """The next ``av.AudioFrame`` (s16, mono, 16 kHz) or ``Silence``; TimeoutError after
        ``timeout``."""
        while not self._frames:
            self._ready.clear()
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self._take()

    def get_nowait(self) -> Any | None:
        if not self._frames:
            return None
        return self._take()

    def _take(self) -> Any:
        self.delivered += 1
        frame, self.last_arrival = self._frames.popleft()
        return frame


class LatestFrameTap:
    """Keeps only the newest decoded video frame, and decodes only while someone looks.

    A source's video is decoded for whoever reads this tap (the discipline watch at 1 fps per
    watched participant, the public broadcast's composition). Nobody reads the judge's or the
    clerk's, nor anyone's outside the stages the watch covers, and decoding a 640x360 stream
    costs about 0.75 ms a frame, 11 ms a second. So the tap is *wanted* while it has been read
    in the last ``idle_s``; otherwise its decoder skips the frames (and forgets the last one,
    so a reader coming back never gets a picture from before the pause). The first read after
    a pause asks for a keyframe (``on_wanted``), and decoding resumes at it.
    """

    def __init__(self, *, idle_s: float = 5.0) -> None:
        self._frame: Any = None
        self._at = 0.0
        self.frames_seen = 0
        self._lock = threading.Lock()
        self.idle_s = idle_s
        self._read_at: float | None = None  # monotonic; None: never read
        self._idle = True  # no reader yet: nothing is decoded until the first read
        self.on_wanted: Callable[[], None] | None = None  # set by the DecodeWorker

    def _put(self, frame: Any) -> None:
        with self._lock:
            self._frame = frame
            self._at = time.monotonic()
            self.frames_seen += 1

    def latest(self) -> tuple[Any, float] | None:
        """(``av.VideoFrame``, monotonic time it was decoded) or None before the first (and
        after a pause, until decoding has resumed)."""
        self._read_at = time.monotonic()
        if self._idle:
            self._idle = False
            if self.on_wanted is not None:
                self.on_wanted()
        with self._lock:
            return None if self._frame is None else (self._frame, self._at)

    def wanted(self, now: float) -> bool:
        """Whether frames should be decoded; called for each frame, on the event loop."""
        if self._idle:
            return False
        if self._read_at is None or now - self._read_at > self.idle_s:
            self._idle = True
            with self._lock:
                self._frame = None
            return False
        return True


class DecodeWorker:
    """Decodes one source's frames in a thread and feeds a tap."""

    def __init__(self, kind: str, *, audio_tap: AudioTap | None = None,
                 video_tap: LatestFrameTap | None = None, maxsize: int | None = None,
                 on_gap: Callable[[], None] | None = None,
                 quiet: QuietAudio | None = None) -> None:
        self.kind = kind
        # audio: frames the sender marked quiet are not decoded (media/quiet.py)
        self.quiet = quiet if kind == "audio" else None
        self.mismatches = 0  # quiet-marked frames that decoded loud (then levels are ignored)
        self._quiet_run = 0  # packets marked quiet in a row, in decoding order
        self._checker: Any = None
        self.audio_tap = audio_tap
        self.video_tap = video_tap
        self.dropped = 0
        self.decoded = 0
        self.errors = 0
        self._on_gap = on_gap
        self._loop = asyncio.get_running_loop()
        self._queue: queue.Queue[tuple[EncodedFrame | Silence | Check, float] | None] = queue.Queue(
            maxsize=maxsize or (100 if kind == "audio" else 8))
        self._need_keyframe = kind == "video"
        self.unwanted = 0  # video frames not decoded: nobody was reading the tap
        if video_tap is not None:
            video_tap.on_wanted = self._resume
        self._thread = threading.Thread(target=self._run, name=f"tap-{kind}", daemon=True)
        self._thread.start()

    def offer(self, frame: EncodedFrame) -> None:
        if self.video_tap is not None and not self.video_tap.wanted(time.monotonic()):
            self.unwanted += 1
            self._need_keyframe = True  # the reference chain is broken from here
            return
        if self.quiet is not None:
            for item in self.quiet.admit(frame):
                self._enqueue(item)
            return
        self._enqueue(frame)

    def _resume(self) -> None:
        """A reader is back after a pause (on the event loop, or the broadcast studio's
        thread): decoding restarts at a keyframe, asked for now rather than at the publisher's
        next one (browsers send them only when asked)."""
        self._need_keyframe = True
        if self._on_gap is not None:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                self._loop.call_soon_threadsafe(self._on_gap)

    def _enqueue(self, item: EncodedFrame | Silence | Check) -> None:
        try:
            self._queue.put_nowait((item, item.arrival))
        except queue.Full:
            self.dropped += 1
            if self.kind == "video":
                # the reference chain is broken: the thread resumes at a keyframe
                self._need_keyframe = True
                if self._on_gap is not None:
                    self._on_gap()

    def _run(self) -> None:
        codec: Any = None
        codec_mime = ""
        resampler: Any = None
        while True:
            item = self._queue.get()
            if item is None:
                return
            frame, arrived = item
            if isinstance(frame, Silence):
                if self.audio_tap is not None:
                    try:
                        self._loop.call_soon_threadsafe(self.audio_tap._put, frame, arrived)
                    except RuntimeError:  # loop closed during shutdown
                        return
                continue
            if isinstance(frame, Check):
                self._check_level(frame.frame)
                continue
            if self._need_keyframe:
                if not frame.keyframe:
                    continue
                self._need_keyframe = False
            if frame.mime_type.lower() != codec_mime:
                codec_mime = frame.mime_type.lower()
                name = _DECODERS.get(codec_mime)
                if name is None:
                    continue
                codec = av.CodecContext.create(name, "r")
                resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            packet = av.Packet(frame.data)
            packet.pts = frame.timestamp
            packet.time_base = fractions.Fraction(1, frame.clock_rate)
            try:
                decoded = codec.decode(packet)
            except av.FFmpegError:
                self.errors += 1
                self._need_keyframe = self.kind == "video"
                continue
            quiet = self.quiet
            # The first packets marked quiet after loud ones carry the end of the loud audio
            # (the encoder's look-ahead), whatever their level says: those are not checked.
            marked_quiet = quiet is not None and quiet.is_quiet(frame)
            self._quiet_run = self._quiet_run + 1 if marked_quiet else 0
            for out in decoded:
                self.decoded += 1
                if marked_quiet and self._quiet_run > 3:
                    self._verify_quiet(out)
                if self.audio_tap is not None:
                    for resampled in resampler.resample(out):
                        try:
                            self._loop.call_soon_threadsafe(self.audio_tap._put, resampled, arrived)
                        except RuntimeError:  # loop closed during shutdown
                            return
                elif self.video_tap is not None:
                    self.video_tap._put(out)

    def _check_level(self, frame: EncodedFrame) -> None:
        """Decode a skipped frame apart (its own decoder: the tap's keeps its continuity)."""
        if self._checker is None:
            self._checker = av.CodecContext.create("libopus", "r")
        try:
            for out in self._checker.decode(av.Packet(frame.data)):
                self._verify_quiet(out)
        except av.FFmpegError:
            self.errors += 1

    def _verify_quiet(self, decoded: Any) -> None:
        """A frame its sender marked quiet: if it is loud, its levels are not to be trusted."""
        quiet = self.quiet
        if quiet is None or not quiet.trusted or self.mismatches:
            return
        level = rms_dbfs(decoded.to_ndarray())  # libopus decodes to s16
        if level > MISMATCH_DBFS:
            self.mismatches += 1
            log.warning("an audio publisher marks audio at %.0f dBFS as quiet: its levels are "
                        "ignored and all of its audio is decoded", level)
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                self._loop.call_soon_threadsafe(quiet.distrust)

    def close(self) -> None:
        # unblock the thread even when the queue is full
        while True:
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
        self._thread.join(timeout=2)

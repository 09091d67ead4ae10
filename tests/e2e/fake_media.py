"""Fake camera and microphone files for Chromium, made at test time (never committed).

Video: a single-frame 4:2:0 y4m from a scene (tests/scenes.py; Chromium loops it). Audio: 16 kHz
mono s16 WAV, either a speech clip (tests/speech.py) followed by silence (so speech recognition
sees the end of each utterance when the file loops), or plain silence.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
from PIL import Image
from scenes import letterbox


def face_y4m(image: Image.Image, out: Path, size: tuple[int, int] = (640, 360)) -> Path:
    """One 4:2:0 frame of ``image``, letterboxed to ``size``."""
    w, h = size
    canvas = letterbox(image, w, h)
    with av.open(str(out), "w", format="yuv4mpegpipe") as dst:
        stream = dst.add_stream("rawvideo", rate=15)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        vf = av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p")
        for packet in stream.encode(vf):
            dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    return out


def speech_wav(clip: Path, out: Path, silence_s: float = 1.5) -> Path:
    """The clip as it is (16 kHz mono s16), then ``silence_s`` of silence."""
    with wave.open(str(clip)) as src:
        assert (src.getframerate(), src.getnchannels(), src.getsampwidth()) == (16000, 1, 2)
        pcm = src.readframes(src.getnframes())
    return _write(out, pcm + bytes(2 * int(16000 * silence_s)))


def silence_wav(out: Path, seconds: float = 2.0) -> Path:
    return _write(out, bytes(2 * int(16000 * seconds)))


def _write(out: Path, pcm: bytes) -> Path:
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        dst.writeframes(pcm)
    return out


def media_flags(video: Path, audio: Path) -> list[str]:
    return [
        f"--use-file-for-fake-video-capture={video}",
        f"--use-file-for-fake-audio-capture={audio}",
    ]

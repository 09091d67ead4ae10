"""face_recognition (dlib) wrappers: face boxes, 128-d encodings and identity distance.

Cost (MEASURED.md, 640x480): HOG upsample 1 takes 115-165 ms, upsample 0 takes 28-43 ms (the
routine checks' quick first pass, ``locate``); each encoding about 100 ms. Frames are first
scaled so the longer side is at most ``max_side``, which bounds the cost of large photos; small
frames (webcam thumbnails) are used as they are.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from courtroom.vision.detector import Box, RGBImage

# Calibrated on the fixtures (docs/vision.md): same person <= 0.523 (a low-res video still),
# different people >= 0.536. The gate is strict because a clerk and the judge's override catch
# false rejects; the in-hearing patrol is lenient because false alarms cost inspectors' time.
GATE_THRESHOLD: Final = 0.50
IDENTITY_THRESHOLD: Final = 0.55
MODEL_VERSION: Final = "dlib-hog+resnet128-face_recognition-1.3"

Encoding = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Face:
    box: Box  # in the caller's frame pixels


@dataclass(frozen=True, slots=True)
class FaceOptions:
    upsample: int = 1
    max_side: int = 640
    # Faces smaller than this many pixels (longer side of the scaled frame) are upsampled once
    # more: webcam panels and ID photos can be tiny and HOG needs faces of ~80 px.
    small_frame_side: int = 400
    encoding_jitters: int = 1
    # The routine checks try one upsampling less first (locate's ``expect``); False: always
    # the full pass (COURTROOM_VISION_FACE_PASS=full, the bench's baseline).
    quick_first: bool = True
    # With the quick pass: a frame where the person detector saw nobody and the quick pass no
    # face is empty (locate's ``nobody_seen``). False: the full pass confirms it, as before
    # (COURTROOM_VISION_FACE_PASS=confirm-empty, the capacity bench's baseline).
    empty_by_detector: bool = True


_DEFAULT: Final = FaceOptions()


def _scaled(rgb: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    h, w = rgb.shape[:2]
    s = max_side / max(h, w)
    if s >= 1.0:
        return np.ascontiguousarray(rgb), 1.0
    img = Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))))
    return np.asarray(img), s


# face_recognition keeps its dlib detector and models in module globals, and dlib's objects are
# not thread-safe: two threads inside them at once corrupted the heap ("double free") under
# load. Every call into dlib goes through this lock; YOLOX (onnxruntime) still runs in parallel.
_DLIB = threading.Lock()


def load() -> None:
    """Load dlib's models now (a checker being built), not at its first frame."""
    _dlib()


def _dlib() -> Any:
    """face_recognition, imported on first use: importing it loads dlib's models, seconds of
    CPU with the GIL held. The server process never needs them when the checks run in child
    processes (worker.py), so it no longer pays that stall."""
    import face_recognition

    return face_recognition


def locate(
    rgb: RGBImage, opts: FaceOptions = _DEFAULT, *, expect: int = 0, nobody_seen: bool = False
) -> tuple[RGBImage, float, list[Box]]:
    """HOG face boxes. Returns the scaled image, its scale and boxes in *original* pixels.

    ``expect`` > 0 turns on the **quick first pass** (issue 13): HOG runs once with one
    upsampling less (a quarter of the pixels, about a quarter of the CPU: 23 against 85-95 ms
    on a 640 px frame) and, when that already finds ``expect`` faces or more, those are the
    answer. Only when it finds fewer (nobody, or fewer faces than the persons YOLOX sees) does
    the full pass run, so "a second face" is decided by the full pass as before. A webcam face
    is large enough for the quick pass (HOG's window is 80 px; the upsampling is what finds
    smaller ones). ``expect`` = 0 (the default: the gate, enrolment, identity) or
    ``opts.quick_first`` False always runs the full pass.

    ``nobody_seen``: the person detector saw nobody in this frame either. A quick pass that then
    finds no face at all is the answer, so an empty seat no longer costs the full pass (72 of the
    118 ms of its check on a 640x360 frame). The full pass only adds faces under 80 px, and
    on the labelled pictures (``scripts/bench_vision.py --empty-frames``: photos and clip
    frames, each at full and half size) it found none where YOLOX saw no person and the quick
    pass no face (docs/vision.md, "Empty frames")."""
    img, s = _scaled(rgb, opts.max_side)
    up = opts.upsample + (1 if max(img.shape[:2]) < opts.small_frame_side else 0)
    locs: list[tuple[int, int, int, int]] = []
    if expect > 0 and up > 0 and opts.quick_first:
        locs = _hog(img, up - 1)
        empty_seat = not locs and nobody_seen and opts.empty_by_detector
        if len(locs) < expect and not empty_seat:
            locs = _hog(img, up)
    else:
        locs = _hog(img, up)
    boxes = [Box(lft / s, top / s, rgt / s, bot / s) for (top, rgt, bot, lft) in locs]
    return img, s, boxes


def _hog(img: RGBImage, upsample: int) -> list[tuple[int, int, int, int]]:
    with _DLIB:
        locs: list[tuple[int, int, int, int]] = _dlib().face_locations(
            img, number_of_times_to_upsample=upsample, model="hog"
        )
    return locs


def face_boxes(
    rgb: RGBImage, opts: FaceOptions = _DEFAULT, *, expect: int = 0, nobody_seen: bool = False
) -> list[Box]:
    return locate(rgb, opts, expect=expect, nobody_seen=nobody_seen)[2]


def encodings(rgb: RGBImage, opts: FaceOptions = _DEFAULT) -> list[tuple[Box, Encoding]]:
    """Every face in the frame with its 128-d encoding."""
    img, s, boxes = locate(rgb, opts)
    return encode_at(img, s, boxes, opts)


def encode_at(
    img: RGBImage, s: float, boxes: list[Box], opts: FaceOptions
) -> list[tuple[Box, Encoding]]:
    if not boxes:
        return []
    locs = [(round(b.y0 * s), round(b.x1 * s), round(b.y1 * s), round(b.x0 * s)) for b in boxes]
    with _DLIB:
        encs = _dlib().face_encodings(
            img, known_face_locations=locs, num_jitters=opts.encoding_jitters
        )
    return [(b, np.asarray(e, dtype=np.float64)) for b, e in zip(boxes, encs, strict=True)]


def distance(a: Encoding, b: Encoding) -> float:
    return float(np.linalg.norm(a - b))


def identity_distance(
    reference: Encoding, rgb: RGBImage, opts: FaceOptions = _DEFAULT
) -> float | None:
    """Distance between the reference and the closest face in the frame; None without a face."""
    encs = encodings(rgb, opts)
    if not encs:
        return None
    return min(distance(reference, e) for _, e in encs)

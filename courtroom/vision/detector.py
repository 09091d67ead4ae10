"""YOLOX-nano (COCO-80) person and phone detector on onnxruntime.

Preprocessing and output decoding follow ``models/vision/SOURCES.md`` exactly: letterbox into the
top-left of a 416x416 grey(114) canvas, BGR, raw 0-255 values, NCHW; rows are
``[tx, ty, tw, th, obj, p0..p79]`` over the stride 8/16/32 grids.

Phones are small objects and the nano model misses most of them on a whole frame, so an optional
second pass runs the same network on a square crop around each detected person (the phone then
covers many more input pixels).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from courtroom.paths import vision_model_path

INPUT_SIZE: Final = 416
PERSON: Final = 0
CELL_PHONE: Final = 67
_STRIDES: Final = (8, 16, 32)

RGBImage = npt.NDArray[np.uint8]


def default_model_path() -> Path:
    return vision_model_path()


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box in frame pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Detection:
    box: Box
    score: float
    class_id: int
    second_pass: bool = False  # found on a person crop rather than the whole frame


@dataclass(frozen=True, slots=True)
class Detections:
    persons: tuple[Detection, ...]
    phones: tuple[Detection, ...]

    @property
    def phone_score(self) -> float:
        return max((d.score for d in self.phones), default=0.0)


def _grids() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    cells: list[npt.NDArray[np.float32]] = []
    strides: list[npt.NDArray[np.float32]] = []
    for s in _STRIDES:
        n = INPUT_SIZE // s
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32))
        strides.append(np.full((n * n, 1), s, dtype=np.float32))
    return np.concatenate(cells), np.concatenate(strides)


def preprocess(rgb: RGBImage) -> tuple[npt.NDArray[np.float32], float]:
    """Letterbox an RGB frame into the model's input tensor; returns it and the scale r."""
    from PIL import Image

    h, w = rgb.shape[:2]
    r = min(INPUT_SIZE / h, INPUT_SIZE / w)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.full((INPUT_SIZE, INPUT_SIZE, 3), 114, dtype=np.uint8)
    canvas[:nh, :nw] = resized[:, :, ::-1]  # model was trained on OpenCV BGR
    tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32)
    return np.ascontiguousarray(tensor), r


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float) -> list[int]:
    """Greedy non-maximum suppression; boxes are (N, 4) x0 y0 x1 y1. Returns kept indices."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        union = areas[i] + areas[rest] - inter
        ious = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
        order = rest[ious <= iou]
    return keep


class Detector:
    """Persons and phones from one RGB frame. ``detect`` may be called from several threads."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        person_threshold: float = 0.35,
        phone_threshold: float = 0.15,
        nms_iou: float = 0.45,
        person_crop_pass: bool = True,
        max_crops: int = 3,
        max_crop_upscale: float = 1.6,
        skip_crop_fraction: float = 0.8,
        intra_op_threads: int = 1,
    ) -> None:
        path = model_path or default_model_path()
        opts = ort.SessionOptions()
        # One thread per inference: the box is shared, parallelism comes from the worker pool.
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.person_threshold = person_threshold
        self.phone_threshold = phone_threshold
        self.nms_iou = nms_iou
        self.person_crop_pass = person_crop_pass
        self.max_crops = max_crops
        self.max_crop_upscale = max_crop_upscale
        self.skip_crop_fraction = skip_crop_fraction
        self._cells, self._strides = _grids()
        self.version = "yolox_nano-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def _raw(self, rgb: RGBImage) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Decoded boxes (N,4) in frame pixels and class scores (N,80) for one pass."""
        tensor, r = preprocess(rgb)
        out = np.asarray(self._session.run(None, {self._input: tensor})[0][0], dtype=np.float32)
        centre = (out[:, :2] + self._cells) * self._strides
        size = np.exp(out[:, 2:4]) * self._strides
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) / r
        scores = out[:, 4:5] * out[:, 5:]
        return boxes.astype(np.float32), scores.astype(np.float32)

    def _select(
        self,
        boxes: npt.NDArray[np.float32],
        scores: npt.NDArray[np.float32],
        cls: int,
        threshold: float,
        offset: tuple[float, float] = (0.0, 0.0),
        second_pass: bool = False,
    ) -> list[Detection]:
        s = scores[:, cls]
        idx = np.nonzero(s >= threshold)[0]
        b = boxes[idx].copy()
        b[:, [0, 2]] += offset[0]
        b[:, [1, 3]] += offset[1]
        return [
            Detection(Box(*(float(v) for v in b[i])), float(s[idx[i]]), cls, second_pass)
            for i in range(len(idx))
        ]

    def _nms(self, dets: list[Detection]) -> tuple[Detection, ...]:
        if not dets:
            return ()
        boxes = np.array([[d.box.x0, d.box.y0, d.box.x1, d.box.y1] for d in dets], np.float32)
        scores = np.array([d.score for d in dets], np.float32)
        return tuple(dets[i] for i in nms(boxes, scores, self.nms_iou))

    def detect(self, rgb: RGBImage, *, person_crop_pass: bool | None = None) -> Detections:
        h, w = rgb.shape[:2]
        boxes, scores = self._raw(rgb)
        persons = self._nms(self._select(boxes, scores, PERSON, self.person_threshold))
        phones = self._select(boxes, scores, CELL_PHONE, self.phone_threshold)
        crop_pass = self.person_crop_pass if person_crop_pass is None else person_crop_pass
        if crop_pass:
            for p in sorted(persons, key=lambda d: -d.box.area)[: self.max_crops]:
                x0, y0, x1, y1 = square_crop(p.box, w, h, INPUT_SIZE / self.max_crop_upscale)
                if (x1 - x0) * (y1 - y0) >= self.skip_crop_fraction * w * h:
                    continue  # crop ~ whole frame: the second pass would see the same pixels
                phones += self.phones_in(rgb, (x0, y0, x1, y1), nms=False)
        return Detections(persons=persons, phones=self._nms(phones))

    def phones_in(
        self, rgb: RGBImage, crop: tuple[int, int, int, int], *, nms: bool = True
    ) -> list[Detection]:
        """Phone boxes (frame pixels) found by one pass on ``rgb[y0:y1, x0:x1]``."""
        x0, y0, x1, y1 = crop
        cb, cs = self._raw(rgb[y0:y1, x0:x1])
        found = self._select(cb, cs, CELL_PHONE, self.phone_threshold, (float(x0), float(y0)), True)
        return list(self._nms(found)) if nms else found


def square_crop(
    box: Box, w: int, h: int, min_side: float, margin: float = 0.15
) -> tuple[int, int, int, int]:
    """Square around a person box (plus a margin), at least ``min_side``, kept inside the frame.

    The floor on the side caps the upscale of the crop: blown-up tiny crops turned a mug held to
    the mouth into a 0.8 "cell phone" on the fixtures (docs/vision.md).
    """
    side = max(max(box.width, box.height) * (1 + 2 * margin), min_side)
    sw, sh = int(min(side, w)), int(min(side, h))
    cx, cy = box.center
    x0 = int(np.clip(cx - sw / 2, 0, w - sw))
    y0 = int(np.clip(cy - sh / 2, 0, h - sh))
    return x0, y0, x0 + sw, y0 + sh

"""Body pose landmarks (BlazePose, from the mediapipe 0.10.14 wheel) and the phone-use cues read
from them: a call (a wrist at an ear, the elbow raised), texting (the head pitched down toward
hands held in front of the body) and filming (a hand held up in front of the face).

mediapipe 1.2's task graph refuses the wheel's pose detector (it carries no normalisation
metadata), so both TFLite models run here on a plain interpreter (``ai-edge-litert``) with the
pre- and post-processing of mediapipe's own graphs (``pose_detection_cpu.pbtxt``,
``pose_landmark_by_roi_cpu.pbtxt``):

* detector: 224x224 letterbox, values in [-1, 1]; 2254 SSD anchors (strides 8, 16, 32, 32, 32,
  two anchors per cell and layer, fixed size); rows ``[cx, cy, w, h, kp0x, kp0y, .. kp3x, kp3y]``
  in input pixels relative to the anchor; sigmoid score; weighted NMS is approximated by plain
  NMS. Keypoint 0 is the hip centre, keypoint 1 a point that with it spans the whole body.
* region: centre keypoint 0, side 2 x |kp1 - kp0| x 1.25, rotated so that kp0 -> kp1 points up.
* landmarks: that rotated square warped to 256x256, values in [0, 1]; 39 rows of
  ``[x, y, z, visibility, presence]`` in input pixels (33 body points + 6 auxiliary); the
  visibility is a logit.

The cue geometry is plain functions on the landmarks (frame pixels), unit-tested without the
model. When the package or the model files are missing :func:`load` returns ``None`` and the
phone check runs without the pose cues (``model_versions`` then has no ``pose``).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from courtroom.paths import PACKAGE_DIR
from courtroom.vision.detector import RGBImage

MODELS: Final = PACKAGE_DIR / "vision" / "models"
DETECTOR_MODEL: Final = MODELS / "pose_detection.tflite"
LANDMARK_MODEL: Final = MODELS / "pose_landmark_full.tflite"
# The exact files of the mediapipe 0.10.14 wheel (models/SOURCES.md); anything else is refused.
SHA256: Final = {
    "pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
}
MODEL_VERSION: Final = "mediapipe-pose-0.10.14-full"

# BlazePose body landmark indices.
NOSE: Final = 0
LEFT_EAR, RIGHT_EAR = 7, 8
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_INDEX, RIGHT_INDEX = 19, 20
LEFT_HIP, RIGHT_HIP = 23, 24

_DET_SIZE: Final = 224
_LM_SIZE: Final = 256
Points = npt.NDArray[np.float32]  # (33, 3): x, y in frame pixels, visibility in [0, 1]


@dataclass(frozen=True, slots=True)
class Pose:
    points: Points
    score: float  # the detector's score

    def xy(self, i: int) -> tuple[float, float]:
        return float(self.points[i, 0]), float(self.points[i, 1])

    def seen(self, *idx: int, at: float = 0.5) -> bool:
        return all(float(self.points[i, 2]) >= at for i in idx)


# ---- the cues (geometry only) ----------------------------------------------------------------
def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def body_scale(p: Pose) -> float:
    """Shoulder width, floored by twice the ear distance (a profile view narrows the shoulders)."""
    shoulders = _dist(p.xy(LEFT_SHOULDER), p.xy(RIGHT_SHOULDER))
    ears = _dist(p.xy(LEFT_EAR), p.xy(RIGHT_EAR))
    return max(shoulders, 2.0 * ears, 1.0)


MIN_SCALE: Final = 8.0  # px: a body smaller than this (or collapsed landmarks) gives no cue


def call_cue(p: Pose) -> bool:
    """A wrist or index finger within 0.42 shoulder widths of an ear, the forearm upright along
    the face: its elbow hangs 0.5-1.0 shoulder widths below the shoulder.

    The bounds come from the *fit* half of the labelled data only (docs/vision.md, "Pose
    cues"): 6 calls held 0.31-0.41 from the ear with the elbow 0.51-0.84 down; a hand on
    headphones or eating raises the elbow (0.23-0.46), a cup at the mouth sits 0.46 from the
    ear, a hand at the mouth lets the elbow drop further (1.08). On the held-out half it took
    a handheld microphone for a call: its weight stays 0 (PhoneWeights)."""
    s = body_scale(p)
    if s < MIN_SCALE:
        return False
    for wrist, index, elbow, shoulder in (
        (LEFT_WRIST, LEFT_INDEX, LEFT_ELBOW, LEFT_SHOULDER),
        (RIGHT_WRIST, RIGHT_INDEX, RIGHT_ELBOW, RIGHT_SHOULDER),
    ):
        if not p.seen(wrist, elbow):
            continue
        near = min(
            _dist(p.xy(h), p.xy(ear)) for h in (wrist, index) for ear in (LEFT_EAR, RIGHT_EAR)
        )
        drop = (p.xy(elbow)[1] - p.xy(shoulder)[1]) / s
        if near <= 0.42 * s and 0.5 <= drop <= 1.0:
            return True
    return False


def head_pitch(p: Pose) -> float:
    """How far the nose sits below the ear line, in ear distances (about 0.1-0.3 facing the
    camera; more with the head bent down to a phone)."""
    ears = _dist(p.xy(LEFT_EAR), p.xy(RIGHT_EAR))
    ear_y = (p.xy(LEFT_EAR)[1] + p.xy(RIGHT_EAR)[1]) / 2
    return (p.xy(NOSE)[1] - ear_y) / max(ears, 1.0)


def texting_cue(p: Pose, pitch: float = 0.45) -> bool:
    """The head pitched down and both wrists together in front of the body, below the
    shoulders: looking at something held in both hands."""
    needed = (NOSE, LEFT_EAR, RIGHT_EAR, LEFT_WRIST, RIGHT_WRIST, LEFT_SHOULDER, RIGHT_SHOULDER)
    s = body_scale(p)
    if s < MIN_SCALE or not p.seen(*needed):
        return False
    lw, rw = p.xy(LEFT_WRIST), p.xy(RIGHT_WRIST)
    shoulder_y = max(p.xy(LEFT_SHOULDER)[1], p.xy(RIGHT_SHOULDER)[1])
    mid_x = (p.xy(LEFT_SHOULDER)[0] + p.xy(RIGHT_SHOULDER)[0]) / 2
    together = _dist(lw, rw) <= 0.6 * s
    in_front = all(w[1] > shoulder_y and abs(w[0] - mid_x) <= 0.8 * s for w in (lw, rw))
    return head_pitch(p) >= pitch and together and in_front


def filming_cue(p: Pose) -> bool:
    """A hand held up in front of the face: a wrist above the shoulders, between the ears (plus
    half a shoulder width), its index finger at or above the nose, the elbow raised."""
    s = body_scale(p)
    if s < MIN_SCALE or not p.seen(NOSE, LEFT_SHOULDER, RIGHT_SHOULDER):
        return False
    nose = p.xy(NOSE)
    shoulder_y = min(p.xy(LEFT_SHOULDER)[1], p.xy(RIGHT_SHOULDER)[1])
    for wrist, index, elbow in ((LEFT_WRIST, LEFT_INDEX, LEFT_ELBOW), (RIGHT_WRIST, RIGHT_INDEX,
                                                                     RIGHT_ELBOW)):
        if not p.seen(wrist, index, elbow):
            continue
        w, i, e = p.xy(wrist), p.xy(index), p.xy(elbow)
        if (w[1] < shoulder_y and abs(w[0] - nose[0]) <= 0.5 * s and i[1] <= nose[1]
                and e[1] <= shoulder_y + 0.3 * s):
            return True
    return False


@dataclass(frozen=True, slots=True)
class PoseCues:
    call: bool
    texting: bool
    filming: bool
    poses: int


def pose_cues(poses: list[Pose]) -> PoseCues:
    return PoseCues(
        call=any(call_cue(p) for p in poses),
        texting=any(texting_cue(p) for p in poses),
        filming=any(filming_cue(p) for p in poses),
        poses=len(poses),
    )


# ---- the models -----------------------------------------------------------------------------
@cache
def _anchors() -> npt.NDArray[np.float32]:
    """Anchor centres of pose_detection_cpu.pbtxt (fixed size: only centres matter)."""
    out: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):  # the three stride-32 layers share cells
        n = math.ceil(_DET_SIZE / stride)
        for y in range(n):
            for x in range(n):
                out += [((x + 0.5) / n, (y + 0.5) / n)] * per_cell
    return np.asarray(out, np.float32)


def _sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -80, 80))), np.float32)


def file_ok(path: Path) -> bool:
    if not path.is_file():
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == SHA256.get(path.name)


class PoseFinder:
    """The two interpreters, shared; calls are serialised (an interpreter is not re-entrant)."""

    def __init__(self, detector: Path = DETECTOR_MODEL, landmarks: Path = LANDMARK_MODEL, *,
                 max_poses: int = 2, min_score: float = 0.5) -> None:
        # Imported here, not at module level: the checker imports this module even when the
        # vision extra (mediapipe brings OpenCV) is not installed; load() then returns None.
        import cv2
        from ai_edge_litert.interpreter import Interpreter

        self._cv2: Any = cv2
        self._det: Any = Interpreter(model_path=str(detector), num_threads=1)
        self._lm: Any = Interpreter(model_path=str(landmarks), num_threads=1)
        self._det.allocate_tensors()
        self._lm.allocate_tensors()
        self._lock = threading.Lock()
        self.max_poses = max_poses
        self.min_score = min_score
        self.version = MODEL_VERSION

    def _run(self, it: Any, x: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        it.set_tensor(it.get_input_details()[0]["index"], x[None])
        it.invoke()
        return [it.get_tensor(d["index"])[0] for d in it.get_output_details()]

    def regions(self, rgb: RGBImage) -> list[tuple[float, float, float, float, float]]:
        """(cx, cy, side, rotation, score) in frame pixels for each body found, best first."""
        h, w = rgb.shape[:2]
        scale = _DET_SIZE / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = np.zeros((_DET_SIZE, _DET_SIZE, 3), np.float32)
        ox, oy = (_DET_SIZE - nw) // 2, (_DET_SIZE - nh) // 2
        cv2 = self._cv2
        canvas[oy : oy + nh, ox : ox + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        with self._lock:
            raw, logits = self._run(self._det, canvas / 127.5 - 1.0)
        score = _sigmoid(logits[:, 0])
        keep = np.flatnonzero(score >= self.min_score)
        keep = keep[np.argsort(-score[keep])]
        a = _anchors()
        out: list[tuple[float, float, float, float, float]] = []
        taken: list[tuple[float, float, float]] = []
        for k in keep:
            # Keypoints 0 and 1 in input pixels -> frame pixels (undo the letterbox).
            k0 = (raw[k, 4:6] / _DET_SIZE + a[k]) * _DET_SIZE
            k1 = (raw[k, 6:8] / _DET_SIZE + a[k]) * _DET_SIZE
            x0, y0 = (k0[0] - ox) / scale, (k0[1] - oy) / scale
            x1, y1 = (k1[0] - ox) / scale, (k1[1] - oy) / scale
            radius = math.hypot(x1 - x0, y1 - y0)
            # Plain NMS on the body circles: one region per person.
            if radius < 4 or any(math.hypot(x0 - tx, y0 - ty) < 0.5 * max(radius, tr)
                                 for tx, ty, tr in taken):
                continue
            taken.append((x0, y0, radius))
            rotation = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
            out.append((x0, y0, 2 * radius * 1.25, rotation, float(score[k])))
            if len(out) >= self.max_poses:
                break
        return out

    def find(self, rgb: RGBImage) -> list[Pose]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 8:
            return []  # not an RGB frame, or too small to hold a body
        poses = []
        for cx, cy, side, rot, score in self.regions(rgb):
            pts = self._landmarks(rgb, cx, cy, side, rot)
            if pts is not None:
                poses.append(Pose(pts, score))
        return poses

    def _landmarks(self, rgb: RGBImage, cx: float, cy: float, side: float,
                   rot: float) -> Points | None:
        # Affine map from the rotated square (frame) to the 256x256 input and back.
        c, s = math.cos(rot), math.sin(rot)
        k = side / _LM_SIZE
        # input (u, v) -> frame: centre + R(rot) * ((u, v) - 128) * k
        fwd = np.array([[c * k, -s * k, cx - (c * 128 - s * 128) * k],
                        [s * k, c * k, cy - (s * 128 + c * 128) * k]], np.float64)
        cv2 = self._cv2
        patch = cv2.warpAffine(rgb, fwd, (_LM_SIZE, _LM_SIZE),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        with self._lock:
            outs = self._run(self._lm, patch.astype(np.float32) / 255.0)
        flag = float(outs[1].reshape(-1)[0])
        if flag < 0.5:  # the model's own "is there a body in this region"
            return None
        lm = outs[0].reshape(39, 5)[:33]
        uv = np.stack([lm[:, 0], lm[:, 1], np.ones(33, np.float32)], axis=1)
        xy = uv @ fwd.T
        vis = _sigmoid(lm[:, 3])
        return np.concatenate([xy, vis[:, None]], axis=1).astype(np.float32)


def load(detector: Path = DETECTOR_MODEL, landmarks: Path = LANDMARK_MODEL) -> PoseFinder | None:
    """The pose finder, or ``None`` when ai-edge-litert or a model file (with its exact hash)
    is missing."""
    if not (file_ok(detector) and file_ok(landmarks)):
        return None
    try:
        return PoseFinder(detector, landmarks)
    except ImportError:
        return None

"""Camera scenes for the vision tests, made from the redistributable photos in tests/fixtures/vision.

Every scene is a real photo, a crop of one, or a composition of crops (a person pasted into an
empty room, two people side by side, a phone or a mug held up beside a face). Sources and
licences: tests/fixtures/SOURCES.md. Crop boxes are in pixels of the committed files.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from courtroom.vision.worker import to_rgb

VISION = Path(__file__).resolve().parent / "fixtures" / "vision"
MAN_VIDEO = VISION / "pai_eye_center_focus_240p.mp4"  # one man looking at the camera, 10 s
TODDLER_WITH_PHONE = VISION / "coco_168974.jpg"  # COCO: a toddler holding a phone, looking down
WOMAN_DRAWING = VISION / "coco_547336.jpg"  # COCO: a woman on the ground; a small phone beside her
GROUP = VISION / "unsplash_group_4_1280.jpg"  # Unsplash: four young people on a rooftop

RGB = np.ndarray[Any, np.dtype[np.uint8]]

# Boxes (x0, y0, x1, y1) in GROUP's pixels.
_GIRL = (0, 96, 272, 832)  # left: a young woman, standing
_BOY = (864, 144, 1104, 848)  # right: a young man, standing
_TWO = (0, 64, 528, 832)  # the young woman and the young man next to her
_WINDOWS = (528, 0, 896, 360)  # the wall of windows above their heads: nobody in it
# In WOMAN_DRAWING's pixels.
_RED_PHONE = (165, 420, 215, 465)
_MUG = (160, 375, 210, 432)
# In TODDLER_WITH_PHONE's pixels: the right hand holding the open flip phone.
_HAND_AND_PHONE = (140, 285, 245, 378)


def image(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def rgb(im: Image.Image) -> RGB:
    return np.asarray(im.convert("RGB"))


def jpeg(im: Image.Image | RGB, quality: int = 92) -> bytes:
    """As an ID photo upload: JPEG bytes."""
    pil = im if isinstance(im, Image.Image) else Image.fromarray(im)
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def fit(im: Image.Image, side: int = 640) -> Image.Image:
    im = im.copy()
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    return im


@cache
def _man_frames() -> tuple[Image.Image, ...]:
    out = []
    with av.open(str(MAN_VIDEO)) as c:
        for f in c.decode(video=0):
            out.append(Image.fromarray(to_rgb(f)))  # applies the clip's -90 degree rotation
    return tuple(out)


def man_frames(every: int, limit: int | None = None) -> list[RGB]:
    """Frames of the webcam clip (one man, one face), decoded with the worker's ``to_rgb``."""
    frames = [rgb(f) for f in _man_frames()[::every]]
    return frames[:limit] if limit is not None else frames


def man(k: int = 0) -> Image.Image:
    """The k-th second (about) of the clip, 240x424 portrait."""
    return _man_frames()[min(24 * k, len(_man_frames()) - 1)]


def girl() -> Image.Image:
    return fit(image(GROUP).crop(_GIRL))


def boy() -> Image.Image:
    return fit(image(GROUP).crop(_BOY))


def two_teens() -> Image.Image:
    """Two people standing next to each other (one real photo, cropped)."""
    return fit(image(GROUP).crop(_TWO))


def empty_room() -> Image.Image:
    """A background region with no people: the wall of windows above the group's heads."""
    return image(GROUP).crop(_WINDOWS).resize((640, 626), Image.Resampling.LANCZOS)


def person_in_room(person: Image.Image, height: float = 0.8) -> Image.Image:
    """``person`` pasted into the empty room, standing at the bottom centre."""
    room = empty_room()
    h = int(room.height * height)
    p = person.resize((round(person.width * h / person.height), h), Image.Resampling.LANCZOS)
    room.paste(p, ((room.width - p.width) // 2, room.height - h))
    return room


def side_by_side(*people: Image.Image, height: int = 480) -> Image.Image:
    """People next to each other in one frame, each scaled to ``height``."""
    scaled = [p.resize((round(p.width * height / p.height), height)) for p in people]
    canvas = Image.new("RGB", (sum(p.width for p in scaled), height))
    x = 0
    for p in scaled:
        canvas.paste(p, (x, 0))
        x += p.width
    return canvas


def _held(person: Image.Image, obj: Image.Image, at: tuple[int, int], scale: float) -> Image.Image:
    frame = person.resize((360, 636), Image.Resampling.LANCZOS)
    o = obj.resize((round(obj.width * scale), round(obj.height * scale)))
    frame.paste(o, at)
    return frame


def phone_held_up(person: Image.Image) -> Image.Image:
    """The red flip phone from WOMAN_DRAWING, held up beside the man's chin."""
    return _held(person, image(WOMAN_DRAWING).crop(_RED_PHONE), (200, 350), 1.5)


def mug_held_up(person: Image.Image, at: tuple[int, int] = (230, 380), scale: float = 1.6) -> Image.Image:
    """The coffee mug from WOMAN_DRAWING, held up beside the man's chin."""
    return _held(person, image(WOMAN_DRAWING).crop(_MUG), at, scale)


def phone_at_ear(person: Image.Image) -> Image.Image:
    """The toddler's hands with the flip phone, turned upright and held at the man's right ear.

    No redistributable photo shows a phone at the ear, so this is a composition: a real hand
    holding a real phone, pasted where a call holds it (tests/fixtures/SOURCES.md)."""
    grip = image(TODDLER_WITH_PHONE).crop(_HAND_AND_PHONE).rotate(90, expand=True)
    grip = grip.resize((round(grip.width * 2.2), round(grip.height * 2.2)))
    return _held(person, grip, (230, 140), 1.0)


def mug_at_mouth(person: Image.Image) -> Image.Image:
    """The coffee mug from WOMAN_DRAWING held in front of the man's mouth (drinking)."""
    return _held(person, image(WOMAN_DRAWING).crop(_MUG), (140, 300), 2.2)


def microphone_at_mouth(person: Image.Image) -> Image.Image:
    """A handheld microphone drawn in front of the man's mouth (speaking into it).

    No redistributable photo shows one; this is drawn: a dark handle and a grey mesh head."""
    from PIL import ImageDraw

    frame = person.resize((360, 636), Image.Resampling.LANCZOS)
    d = ImageDraw.Draw(frame)
    d.polygon([(170, 360), (196, 360), (206, 520), (160, 520)], fill=(25, 25, 28))
    d.ellipse((158, 300, 208, 366), fill=(120, 120, 125), outline=(60, 60, 60), width=3)
    for y in range(308, 362, 7):  # the mesh
        d.line((162, y, 204, y), fill=(90, 90, 95))
    return frame


def letterbox(im: Image.Image | RGB, w: int = 640, h: int = 480) -> RGB:
    """A scene letterboxed into a webcam-sized frame (480x640 for a phone's portrait camera)."""
    pil = (im if isinstance(im, Image.Image) else Image.fromarray(im)).copy()
    pil.thumbnail((w, h))
    canvas = Image.new("RGB", (w, h), (0, 0, 0))
    canvas.paste(pil, ((w - pil.width) // 2, (h - pil.height) // 2))
    return np.asarray(canvas)

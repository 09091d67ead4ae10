"""One broadcast picture from the participants' decoded frames, and the card shown instead.

The layout is a row of equal cells: the bench first (judge, then clerks), then the party
who speaks. Each picture keeps its 16:9 shape inside its cell (letterboxed on black).
Only the participants the caller passes are drawn: the choice of who (``broadcast_feeds``)
is made in the domain, never here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# The CJK font the sealed record uses too (scripts/install: fonts-wqy-microhei).
_CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_CARD_BG = (24, 32, 56)  # dark navy, far from any test colour
_NO_PICTURE = (40, 40, 40)  # a participant on air whose camera sends nothing (yet)


def _even(n: int) -> int:
    return max(2, n - n % 2)


def cells(size: tuple[int, int], count: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of ``count`` 16:9 pictures in a row across ``size``."""
    width, height = size
    if count <= 0:
        return []
    cell_w = width // count
    w = _even(min(cell_w, height * 16 // 9))
    h = _even(w * 9 // 16)
    y = (height - h) // 2
    return [(i * cell_w + (cell_w - w) // 2, y, w, h) for i in range(count)]


class Composer:
    """Draws frames into one RGB canvas; keeps the last scaled picture of each source so an
    unchanged frame is not scaled again (most ticks of a 15 fps output at 15 fps input)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        # participant -> (the frame itself, size, its scaled picture). The frame is kept, and
        # compared with ``is``: an id() could be reused by a later frame once this one is freed.
        self._scaled: dict[str, tuple[Any, tuple[int, int], Any]] = {}

    def compose(self, pictures: list[tuple[str, Any]]) -> np.ndarray[Any, Any]:
        """``pictures``: (participant, ``av.VideoFrame`` or None) in the order drawn."""
        width, height = self.size
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        places = cells(self.size, len(pictures))
        for (pid, frame), (x, y, w, h) in zip(pictures, places, strict=True):
            canvas[y : y + h, x : x + w] = self._picture(pid, frame, (w, h))
        keep = {pid for pid, _ in pictures}
        for pid in [p for p in self._scaled if p not in keep]:
            del self._scaled[pid]
        return canvas

    def _picture(self, pid: str, frame: Any, size: tuple[int, int]) -> Any:
        if frame is None:
            return np.array(_NO_PICTURE, dtype=np.uint8)
        cached = self._scaled.get(pid)
        if cached is not None and cached[0] is frame and cached[1] == size:
            return cached[2]
        w, h = size
        picture = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
        self._scaled[pid] = (frame, size, picture)
        return picture


@lru_cache(maxsize=8)
def card(size: tuple[int, int], lines: tuple[str, ...]) -> np.ndarray[Any, Any]:
    """A still card (``lines`` centred), e.g. while the judge has paused the broadcast."""
    width, height = size
    image = Image.new("RGB", size, _CARD_BG)
    draw = ImageDraw.Draw(image)
    font_size = max(12, height // 14)
    font: Any
    if _CJK_FONT.exists():
        font = ImageFont.truetype(str(_CJK_FONT), font_size)
    else:
        font = ImageFont.load_default(font_size)
    step = font_size * 3 // 2
    top = height // 2 - step * len(lines) // 2
    for i, text in enumerate(lines):
        box = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (box[2] - box[0])) // 2, top + i * step), text, fill="white", font=font)
    return np.asarray(image, dtype=np.uint8)


PAUSED = ("庭审直播暂停", "The broadcast is paused")
OFF_AIR = ("庭审直播", "The hearing is not on air")

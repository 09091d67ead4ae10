"""Read what a sealed page shows: its text runs, where, in which colour, and what is painted.

A small interpreter for the content streams reportlab writes, failing closed: an operator
outside the short list reportlab uses (clipping, text render modes, spacing, scaling,
graphics states, inline images, forms, shadings) is a failure, not something skipped.

Glyph codes are read through each font subset's /ToUnicode, and that is only trusted
after the embedded font program is shown to be byte for byte the subset the reference
font gives for those characters (``fonts.py``): a code's glyph is then the glyph of the
character its /ToUnicode names.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

_OPERAND = (
    rb"\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>|/[^\s/\[\]()<>{}%]*"
    rb"|[+-]?(?:\d+\.?\d*|\.\d+)|[\[\]]"
)
# One statement: its operands, then its operator; or any other character (a failure).
_STATEMENT = re.compile(
    rb"\s*((?:(?:" + _OPERAND + rb")\s*)*)([A-Za-z'\"*][A-Za-z0-9'\"*]*)|\s*(\S)", re.S
)
_STRING = re.compile(rb"\s*(\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>)\s*", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_RARE_ESCAPE = re.compile(rb"\\[^0-7\\()]")
_ESCAPES = {b"n": 10, b"r": 13, b"t": 9, b"b": 8, b"f": 12}
_BLACK = ((0.0, 0.0, 0.0), (0.0,), (0.0, 0.0, 0.0, 1.0))
_MAX_STROKE = 1.0  # the widest rule a page may draw, in points
_LIGHTEST_FILL = 0.9  # fills: table backgrounds, every colour component at least this
_SHORTEST_RULE = 40.0  # points: a stroke is a table rule, not a pen drawing
# The operators reportlab writes for these pages, with their operand counts.
_ARITY = {
    b"q": 0, b"Q": 0, b"cm": 6, b"rg": 3, b"RG": 3, b"g": 1, b"G": 1, b"k": 4, b"K": 4,
    b"w": 1, b"J": 1, b"j": 1, b"M": 1, b"m": 2, b"l": 2, b"c": 6, b"re": 4, b"h": 0,
    b"f": 0, b"f*": 0, b"F": 0, b"B": 0, b"B*": 0, b"b": 0, b"b*": 0, b"S": 0, b"s": 0,
    b"n": 0, b"BT": 0, b"ET": 0, b"Tm": 6, b"Tf": 2, b"TL": 1, b"T*": 0, b"Td": 2,
    b"TD": 2, b"Tj": 1, b"'": 1, b"Do": 1,
}  # fmt: skip


_FILLS = frozenset(b"f f* F B B* b b*".split())
_STRING_OPS = (b"Tj", b"'")
_NAME_OPS = (b"Tf", b"Do")


class PageContentError(ValueError):
    """The page does something a genuine record page never does."""


class FontInfo:
    """A verified font subset: code -> character, code -> advance (1/1000 em)."""

    __slots__ = ("_seen", "_table", "chars", "widths")

    def __init__(self, chars: tuple[str, ...], widths: tuple[float, ...]) -> None:
        self.chars, self.widths = chars, widths
        self._table = dict(enumerate(chars))
        self._seen: dict[bytes, tuple[str, float]] = {}  # names and labels repeat a lot

    def decode(self, data: bytes) -> tuple[str, float]:
        """The characters shown and their advance in 1/1000 em."""
        got = self._seen.get(data)
        if got is None:
            if data and max(data) >= len(self.chars):
                raise PageContentError("a glyph code outside its font subset")
            text = data.decode("latin-1").translate(self._table)
            got = self._seen[data] = (text, sum(map(self.widths.__getitem__, data)))
        return got


@dataclass(frozen=True, slots=True)
class TextRun:
    text: str
    box: Box


@dataclass
class PageReader:
    """Interprets one page; ``fonts`` maps a resource name to its verified font."""

    fonts: Mapping[str, FontInfo]
    is_image: Callable[[str], bool]
    media: Box
    runs: list[TextRun] = field(default_factory=list)
    ctm: Matrix = IDENTITY
    fill: tuple[float, ...] = (0.0,)
    line_width: float = 1.0
    stack: list[tuple[Matrix, tuple[float, ...], float]] = field(default_factory=list)
    path: list[tuple[float, float]] = field(default_factory=list)
    curved: bool = False  # the current path has a curve or a line (not only rectangles)
    rect: bool = False  # the current path has a rectangle
    tm: Matrix = IDENTITY
    tlm: Matrix = IDENTITY
    font: FontInfo | None = None
    size: float = 0.0
    leading: float = 0.0

    def read(self, content: bytes) -> list[TextRun]:
        for line in content.splitlines():
            for handler, args in parse_line(line):
                handler(self, args)
        return self.runs

    def _path_box(self) -> Box:
        pts, self.path = self.path, []
        self.curved = self.rect = False
        if not pts:
            return (0.0, 0.0, 0.0, 0.0)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return (min(xs), min(ys), max(xs), max(ys))

    def _paint(self, box: Box) -> None:
        for run in self.runs:
            if _overlap(run.box, box):
                raise PageContentError(f"something is painted over the text {run.text[:24]!r}")

    def _point(self, x: float, y: float) -> None:
        self.path.append(_apply(self.ctm, x, y))

    def _show(self, data: bytes) -> None:
        if self.font is None:
            raise PageContentError("text shown with no font set")
        if self.fill not in _BLACK:
            raise PageContentError("text shown in a colour other than black")
        m = _mul(self.tm, self.ctm)
        if m[:4] != (1.0, 0.0, 0.0, 1.0) or self.size < 6:
            raise PageContentError("text scaled, rotated, or smaller than 6 pt")
        text, em = self.font.decode(data)
        size = self.size
        advance = em * size / 1000
        x, y = m[4], m[5]
        box = (x, y - 0.2 * size, x + advance, y + 0.7 * size)
        mx0, my0, mx1, my1 = self.media
        if box[0] < mx0 or box[1] < my0 or box[2] > mx1 + 0.5 or box[3] > my1:
            raise PageContentError(f"text {text[:24]!r} is drawn outside the page")
        self.runs.append(TextRun(text, box))
        self.tm = _mul((1.0, 0.0, 0.0, 1.0, advance, 0.0), self.tm)


Handler = Callable[["PageReader", Sequence[object]], None]


@functools.lru_cache(maxsize=8192)
def parse_line(line: bytes) -> tuple[tuple[Handler, Sequence[object]], ...]:
    """A line's statements, parsed once (a page repeats most of its lines many times);
    operators with no effect on what the checks look at (ET, caps, stroke colour) are
    checked here and dropped."""
    out: list[tuple[Handler, Sequence[object]]] = []
    for operands, op, stray in _STATEMENT.findall(line):
        if stray:
            raise PageContentError(f"unexpected {stray!r} in the content stream")
        arity = _ARITY.get(op)
        if arity is None:
            raise PageContentError(f"operator {op.decode('latin-1')!r} not allowed here")
        args = _operands(op, operands, arity) if arity or operands.strip() else ()
        handler = _HANDLERS.get(op) or _PAINTERS.get(op)
        if handler is not None:
            out.append((handler, args))
    return tuple(out)


def clear_caches() -> None:
    parse_line.cache_clear()
    _operands.cache_clear()


@functools.lru_cache(maxsize=4096)
def _operands(op: bytes, raw: bytes, arity: int) -> tuple[object, ...]:
    """Parse a statement's operands: numbers, or the one string or name it takes."""
    args: list[object]
    if op in _STRING_OPS:
        m = _STRING.fullmatch(raw)
        if m is None:
            raise PageContentError("a string was expected")
        tok = m.group(1)
        args = [_literal(tok[1:-1]) if tok[:1] == b"(" else bytes.fromhex(tok[1:-1].decode())]
    elif op in _NAME_OPS:
        parts = raw.split()
        if len(parts) != arity or parts[0][:1] != b"/":
            raise PageContentError("a name was expected")
        args = [parts[0][1:].decode("latin-1"), *(float(p) for p in parts[1:])]
    else:
        try:
            args = [float(p) for p in raw.split()]
        except ValueError:
            raise PageContentError("a number was expected") from None
    if len(args) != arity:
        raise PageContentError(f"operator {op.decode('latin-1')!r} with {len(args)} operands")
    return tuple(args)


def _nums(args: Sequence[object]) -> Sequence[float]:
    return args  # type: ignore[return-value]  # _operands gives numbers to these operators


def _do_q(r: PageReader, args: Sequence[object]) -> None:
    r.stack.append((r.ctm, r.fill, r.line_width))


def _do_Q(r: PageReader, args: Sequence[object]) -> None:
    if not r.stack:
        raise PageContentError("Q without q")
    r.ctm, r.fill, r.line_width = r.stack.pop()


def _do_cm(r: PageReader, args: Sequence[object]) -> None:
    a, b, c, d, e, f = _nums(args)
    r.ctm = _mul((a, b, c, d, e, f), r.ctm)


def _do_fill(r: PageReader, args: Sequence[object]) -> None:
    r.fill = tuple(_nums(args))


def _do_w(r: PageReader, args: Sequence[object]) -> None:
    r.line_width = _nums(args)[0]


def _do_point(r: PageReader, args: Sequence[object]) -> None:
    nums = _nums(args)
    r.curved = True
    for i in range(0, len(nums), 2):
        r._point(nums[i], nums[i + 1])


def _do_re(r: PageReader, args: Sequence[object]) -> None:
    r.rect = True
    x, y, w, h = _nums(args)
    for px, py in ((x, y), (x + w, y), (x, y + h), (x + w, y + h)):
        r._point(px, py)


def _do_BT(r: PageReader, args: Sequence[object]) -> None:
    r.tm = r.tlm = IDENTITY


def _do_Tm(r: PageReader, args: Sequence[object]) -> None:
    a, b, c, d, e, f = _nums(args)
    r.tm = r.tlm = (a, b, c, d, e, f)


def _do_Tf(r: PageReader, args: Sequence[object]) -> None:
    name, size = args
    if not isinstance(name, str) or name not in r.fonts or not isinstance(size, float):
        raise PageContentError(f"font {name!r} is not one of the record's font subsets")
    r.font, r.size = r.fonts[name], size


def _do_TL(r: PageReader, args: Sequence[object]) -> None:
    r.leading = _nums(args)[0]


def _next_line(r: PageReader, tx: float, ty: float) -> None:
    r.tm = r.tlm = _mul((1.0, 0.0, 0.0, 1.0, tx, ty), r.tlm)


def _do_Tstar(r: PageReader, args: Sequence[object]) -> None:
    _next_line(r, 0.0, -r.leading)


def _do_Td(r: PageReader, args: Sequence[object]) -> None:
    tx, ty = _nums(args)
    _next_line(r, tx, ty)


def _do_TD(r: PageReader, args: Sequence[object]) -> None:
    tx, ty = _nums(args)
    r.leading = -ty
    _next_line(r, tx, ty)


def _do_Tj(r: PageReader, args: Sequence[object]) -> None:
    if not isinstance(args[0], bytes):
        raise PageContentError("a string was expected")
    r._show(args[0])


def _do_quote(r: PageReader, args: Sequence[object]) -> None:
    _do_Tstar(r, [])
    _do_Tj(r, args)


def _do_Do(r: PageReader, args: Sequence[object]) -> None:
    name = args[0]
    if not isinstance(name, str) or not r.is_image(name):
        raise PageContentError(f"image {name!r} is not one of the attached signature strokes")
    corners = [_apply(r.ctm, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    r._paint((min(xs), min(ys), max(xs), max(ys)))


_HANDLERS: dict[bytes, Callable[[PageReader, Sequence[object]], None]] = {
    b"q": _do_q, b"Q": _do_Q, b"cm": _do_cm, b"rg": _do_fill, b"g": _do_fill,
    b"k": _do_fill, b"w": _do_w, b"m": _do_point, b"l": _do_point, b"c": _do_point,
    b"re": _do_re, b"BT": _do_BT, b"Tm": _do_Tm, b"Tf": _do_Tf, b"TL": _do_TL,
    b"T*": _do_Tstar, b"Td": _do_Td, b"TD": _do_TD, b"Tj": _do_Tj, b"'": _do_quote,
    b"Do": _do_Do,
}  # fmt: skip


def _do_fill_path(r: PageReader, args: Sequence[object]) -> None:
    # reportlab fills only rectangles, in light table backgrounds: a dark or curved fill
    # could draw letters that are not record.json's text.
    light = len(r.fill) in (1, 3) and min(r.fill) >= _LIGHTEST_FILL  # g or rg, not k
    if r.curved or not light:
        raise PageContentError("a filled shape other than a light rectangle is drawn")
    r._paint(r._path_box())


def _do_stroke(r: PageReader, args: Sequence[object]) -> None:
    # reportlab strokes only the rules under table rows: long horizontal lines.
    pts = r.path
    flat = bool(pts) and all(abs(y - pts[0][1]) < 0.01 for _, y in pts)
    long = bool(pts) and max(x for x, _ in pts) - min(x for x, _ in pts) >= _SHORTEST_RULE
    if r.rect or not (flat and long) or r.line_width * _scale(r.ctm) > _MAX_STROKE:
        raise PageContentError("a stroked shape other than a table rule is drawn")
    r.path = []
    r.curved = False


def _do_n(r: PageReader, args: Sequence[object]) -> None:
    r.path = []
    r.curved = r.rect = False


_PAINTERS: dict[bytes, Handler] = {
    **dict.fromkeys(_FILLS, _do_fill_path),
    b"S": _do_stroke,
    b"s": _do_stroke,
    b"n": _do_n,
}


def _literal(raw: bytes) -> bytes:
    """A literal string's bytes. Inside a token every paren is escaped (the tokenizer
    allows no other), so reportlab's escapes (octal, backslash, parens) decode with the C
    codec; anything rarer takes the general path."""
    if b"\\" not in raw:
        return raw
    if _RARE_ESCAPE.search(raw) is None:
        plain = raw.replace(b"\\(", b"(").replace(b"\\)", b")")
        decoded: bytes = codecs.escape_decode(plain)[0]
        return decoded

    def sub(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e[:1].isdigit():
            return bytes([int(e, 8) & 0xFF])
        if e in (b"\n", b"\r"):
            return b""
        return bytes([_ESCAPES.get(e, e[0])])

    return _ESCAPE.sub(sub, raw)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (
        a * A + b * C,
        a * B + b * D,
        c * A + d * C,
        c * B + d * D,
        e * A + f * C + E,
        e * B + f * D + F,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _scale(m: Matrix) -> float:
    return float(max(abs(m[0]) + abs(m[2]), abs(m[1]) + abs(m[3])))


def _overlap(a: Box, b: Box, eps: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > eps and min(a[3], b[3]) - max(a[1], b[1]) > eps

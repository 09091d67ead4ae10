"""Exhibit files: the type found by content, checked by a real parse, stored by SHA-256,
and shown as PNG pages rendered on the server.

Why pages are rendered here rather than by pdf.js in each browser: every participant then
sees exactly the same pixels for page N (a phone, the judge's console, the sealed record's
reviewer), no exhibit's PDF ever reaches a browser's PDF engine, and the witness's page
fetches the one PNG it is shown. Rendering uses poppler's ``pdftoppm`` in a child process
with memory, CPU and wall-clock limits, so a PDF bomb costs a refused upload, not the server.

Files live in ``<data dir>/exhibits/<hearing>/<sha256>.<ext>``, pages beside them as
``<sha256>-p<N>.png``; the log (``exhibit_submitted``) carries the hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import sys
from pathlib import Path

from PIL import Image

from ..domain.exhibits import MAX_EXHIBIT_BYTES

# Sniffed from the first bytes, never from the name or the declared Content-Type.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_PIL_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG"}
_EXT = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MAX_PIXELS = 40_000_000  # an image exhibit: about 7,700 x 5,200
PAGE_PX = 1600  # the longer side of a rendered page
_LIMIT_AS = 1 << 30  # a child parser or renderer may use 1 GiB
_LIMIT_CPU_S = 20
_TIMEOUT_S = 30.0
_RENDERING: dict[Path, asyncio.Lock] = {}  # pages being rendered now


class ExhibitRefused(Exception):
    """An upload that is not a usable exhibit: ``status`` and ``code`` for the REST answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sniff(data: bytes) -> str | None:
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return None


def _limited(args: list[str]) -> list[str]:
    """``args`` under memory and CPU limits, set by util-linux's ``prlimit`` in the child
    (not by a ``preexec_fn``, which may deadlock a fork of this threaded server)."""
    return ["prlimit", f"--as={_LIMIT_AS}", f"--cpu={_LIMIT_CPU_S}", "--", *args]


async def _child(args: list[str], data: bytes | None) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *_limited(args),
        stdin=asyncio.subprocess.PIPE if data is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(data), _TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -9, b""
    return proc.returncode if proc.returncode is not None else -1, out


async def _pdf_pages(data: bytes) -> int:
    env_path = str(Path(__file__).resolve().parents[2])
    args = [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); "
            "from courtroom.server.exhibit_check import main; main()"]  # fmt: skip
    code, out = await _child(args, data)
    try:
        answer = json.loads(out) if code == 0 else {}
    except ValueError:
        answer = {}
    if "refused" in answer:
        raise ExhibitRefused(422, "unusable_exhibit", f"PDF refused: {answer['refused']}")
    pages = answer.get("pages")
    if not isinstance(pages, int):
        raise ExhibitRefused(422, "unusable_exhibit", "the PDF could not be read within limits")
    return pages


def _image_check(data: bytes, media_type: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != _PIL_FORMAT[media_type]:
                raise ExhibitRefused(415, "unsupported_type", "the image is not what it starts as")
            if img.width * img.height > MAX_PIXELS:
                raise ExhibitRefused(413, "too_large", f"an image has at most {MAX_PIXELS} pixels")
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # verify() does not decode: a truncated image fails here
    except ExhibitRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        why = f"the image is damaged ({type(exc).__name__})"
        raise ExhibitRefused(422, "unusable_exhibit", why) from None


async def inspect(data: bytes) -> tuple[str, int]:
    """``(media_type, pages)`` of an upload, by its content, or ``ExhibitRefused``."""
    if not data:
        raise ExhibitRefused(400, "malformed", "send the exhibit (PDF, PNG or JPEG) as the body")
    if len(data) > MAX_EXHIBIT_BYTES:
        raise ExhibitRefused(413, "too_large", f"an exhibit is at most {MAX_EXHIBIT_BYTES} bytes")
    media_type = sniff(data)
    if media_type is None:
        raise ExhibitRefused(415, "unsupported_type", "an exhibit is a PDF, PNG or JPEG file")
    if media_type == "application/pdf":
        return media_type, await _pdf_pages(data)
    await asyncio.to_thread(_image_check, data, media_type)
    return media_type, 1


class ExhibitStore:
    """Content-addressed exhibit files of each hearing, and their rendered pages."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, hearing_id: str) -> Path:
        return self.root / hearing_id

    def file(self, hearing_id: str, sha256: str, media_type: str) -> Path:
        return self._folder(hearing_id) / f"{sha256}.{_EXT[media_type]}"

    def save(self, hearing_id: str, data: bytes, media_type: str) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.file(hearing_id, sha, media_type)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{secrets.token_hex(6)}")
            tmp.write_bytes(data)
            tmp.replace(path)  # whole or absent, never half-written
        return sha

    async def page(self, hearing_id: str, sha256: str, media_type: str, page: int) -> Path:
        """Page ``page`` as a PNG (rendered once, then kept), or ``ExhibitRefused``."""
        out = self._folder(hearing_id) / f"{sha256}-p{page}.png"
        # Everyone in the hearing asks for a new page at once: one renders, the rest wait.
        async with _RENDERING.setdefault(out, asyncio.Lock()):
            if out.exists():
                return out
            source = self.file(hearing_id, sha256, media_type)
            if media_type == "application/pdf":
                await self._render_pdf(source, page, out)
            else:
                await asyncio.to_thread(_image_page, source, out)
        _RENDERING.pop(out, None)
        return out

    async def _render_pdf(self, source: Path, page: int, out: Path) -> None:
        stem = out.with_name(f"{out.stem}.tmp{secrets.token_hex(6)}")
        args = ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                "-scale-to", str(PAGE_PX), str(source), str(stem)]  # fmt: skip
        try:
            code, _ = await _child(args, None)
        except FileNotFoundError:
            why = "pdftoppm (poppler-utils) is not installed"
            raise ExhibitRefused(503, "renderer_missing", why) from None
        made = stem.with_suffix(stem.suffix + ".png")
        if code != 0 or not made.exists():
            made.unlink(missing_ok=True)
            raise ExhibitRefused(422, "unusable_exhibit", f"page {page} could not be rendered")
        made.replace(out)


def _image_page(source: Path, out: Path) -> None:
    with Image.open(source) as img:
        img.thumbnail((PAGE_PX, PAGE_PX))
        tmp = out.with_name(f"{out.stem}.tmp{secrets.token_hex(6)}.png")
        img.convert("RGB").save(tmp, "PNG")  # metadata (EXIF, location) is not carried over
        tmp.replace(out)

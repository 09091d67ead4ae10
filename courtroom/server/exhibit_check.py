"""Parse an uploaded PDF exhibit in a separate, limited process and say whether it is safe.

``python -m courtroom.server.exhibit_check`` reads the PDF on stdin and prints one JSON
object: ``{"pages": N}`` or ``{"refused": "why"}``. It runs in its own process (started by
``exhibit_files.py`` with memory and CPU limits) because parsing untrusted PDF is where a
bomb (a huge object stream, a cyclic page tree) would hurt: there it can only kill itself.

Refused: encrypted files, and active or embedded content anywhere reachable from the
catalogue: JavaScript, launch/submit/import actions, additional actions, XFA forms, rich
media and embedded files. The record shows exhibits as rendered pages, so a browser never
runs an exhibit's script anyway; refusing them keeps such content out of the court's files.
"""

from __future__ import annotations

import io
import json
import sys
import zlib
from typing import Any

# Keys whose mere presence means active or embedded content.
_ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/AA", "/XFA", "/RichMedia", "/EmbeddedFiles", "/EmbeddedFile"}
)
# Action types (``/S``) that run something or send something.
_ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/Rendition", "/RichMediaExecute"}
)
MAX_OBJECTS = 200_000
# All Flate streams together may inflate to this much: past it the file is a bomb.
MAX_DECODED = 256 * 1024 * 1024


class Refused(Exception):
    pass


def check(data: bytes) -> int:
    """The number of pages, or ``Refused``."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
    except Exception as exc:  # the parser raises what it meets
        raise Refused(f"not a readable PDF ({type(exc).__name__})") from None
    try:
        encrypted = reader.encrypted or "/Encrypt" in reader.trailer
    except Exception:  # a broken security handler is still an encrypted file
        encrypted = True
    if encrypted:
        raise Refused("an encrypted PDF cannot be shown; send it without a password")
    pages = 0
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer.raw_get("/Root")]
    visited = 0
    decoded = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()  # type: ignore[no-untyped-call]
        visited += 1
        if visited > MAX_OBJECTS:
            raise Refused(f"more than {MAX_OBJECTS} objects")
        if isinstance(obj, generic.DictionaryObject):
            names = set(obj.keys())
            if names & _ACTIVE_KEYS:
                raise Refused(f"active or embedded content ({sorted(names & _ACTIVE_KEYS)[0]})")
            if str(obj.raw_get("/S")) in _ACTIVE_ACTIONS if "/S" in names else False:
                raise Refused(f"an action that runs or sends something ({obj.raw_get('/S')})")
            if "/Type" in names and str(obj.raw_get("/Type")) == "/Page":
                pages += 1
            if isinstance(obj, generic.StreamObject):
                decoded += _inflated_size(obj, MAX_DECODED - decoded)
            stack.extend(obj.raw_get(k) for k in names if k != "/Parent")
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj)
    if pages == 0:
        raise Refused("the PDF has no pages")
    return pages


def _inflated_size(stream: Any, budget: int) -> int:
    """How many bytes a Flate stream inflates to, counted in bounded pieces (nothing kept);
    ``Refused`` past ``budget``. Other filters are left to the renderer's limits."""
    filters = stream.raw_get("/Filter") if "/Filter" in stream else None
    first = filters[0] if isinstance(filters, list) and filters else filters
    if str(first) not in ("/FlateDecode", "/Fl"):
        return 0
    inflater = zlib.decompressobj()
    data = stream.encoded_data
    size = 0
    pending = inflater.decompress(data, 1 << 20)
    while True:
        size += len(pending)
        if size > budget:
            raise Refused(f"its streams inflate to more than {MAX_DECODED >> 20} MiB (a bomb)")
        if not inflater.unconsumed_tail:
            break
        pending = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
    return size


def main() -> None:
    data = sys.stdin.buffer.read()
    try:
        out: dict[str, object] = {"pages": check(data)}
    except Refused as exc:
        out = {"refused": str(exc)}
    except RecursionError:
        out = {"refused": "the PDF is nested too deeply"}
    except Exception as exc:  # whatever a damaged file makes the parser raise
        out = {"refused": f"not a readable PDF ({type(exc).__name__})"}
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()

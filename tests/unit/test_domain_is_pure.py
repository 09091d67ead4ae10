"""The hearing domain imports nothing that does I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "courtroom" / "domain"
ALLOWED = {"__future__", "dataclasses", "enum", "typing", "collections", "collections.abc",
           "functools", "datetime", "types", "itertools"}
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "sqlite3", "sqlalchemy", "sqlmodel", "aiortc",
              "av", "redis", "starlette", "uvicorn", "websockets", "vosk", "http", "urllib", "subprocess",
              "threading", "concurrent", "logging", "io", "os", "pathlib"}


def test_domain_sources_import_only_pure_modules() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: stays inside the domain
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name in ALLOWED, f"{path.name} imports {name}"


def test_importing_the_domain_loads_no_io_module() -> None:
    code = (
        "import sys; before=set(sys.modules);"
        "import courtroom.domain.hearing, courtroom.domain.routing, courtroom.domain.codec, courtroom.domain.visibility;"
        "print('\\n'.join(sorted(set(sys.modules)-before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = {m.split(".")[0] for m in out.split()}
    assert not loaded & IO_MODULES, loaded & IO_MODULES

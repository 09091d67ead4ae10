"""``courtroom``: serve, demo, verify-log, and the record tools."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import Settings


def _models(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """The models dir and how it was chosen, when the command line decides it."""
    if getattr(args, "models_dir", None):
        return Path(args.models_dir).resolve(), "set by --models-dir"
    if getattr(args, "data_dir", None) and not os.environ.get("COURTROOM_MODELS_DIR"):
        where = Path(args.data_dir).resolve() / "models"
        return where, "default: <data dir>/models, data dir set by --data-dir"
    return None, None


def _settings(args: argparse.Namespace) -> Settings:
    models, origin = _models(args)
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=getattr(args, "database_url", None),
        redis_url=getattr(args, "redis_url", None),
        models_dir=models,
        models_dir_origin=origin,
        data_dir=Path(args.data_dir).resolve() if getattr(args, "data_dir", None) else None,
        public_url=getattr(args, "public_url", None),
        ice_loopback_only=True if getattr(args, "ice_loopback_only", False) else None,
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from . import protocol
    from .server.app import create_app
    from .server.status import server_status, startup_lines

    settings = _settings(args)
    print(f"courtroom: serving on {settings.base_url}", flush=True)
    for line in startup_lines(server_status(settings)):
        print(f"courtroom: {line}", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_max_size=protocol.TRANSPORT_MAX_BYTES,
        log_level="info",
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


async def _demo(settings: Settings) -> None:
    from datetime import UTC, datetime

    from .bus import InProcessBus
    from .domain.roles import Role
    from .server.court import Court

    bus = InProcessBus()
    court = Court(settings, bus)
    try:
        when = datetime.now(UTC).replace(microsecond=0).isoformat()
        hid = await court.schedule(
            "(2026)京0105民初12345号", "民间借贷纠纷", "北京市朝阳区人民法院", "zh", when
        )
        print(f"hearing {hid} scheduled ({settings.effective_database_url})")
        for role, name in [
            (Role.JUDGE, "审判员 张明"),
            (Role.CLERK, "书记员 李华"),
            (Role.PLAINTIFF, "原告 王芳"),
            (Role.DEFENDANT, "被告 赵强"),
            (Role.WITNESS, "证人 陈静"),
        ]:
            inv = await court.invite(hid, role, name)
            print(f"  {role.value:<10} {inv.join_url}  code {inv.code}")
    finally:
        await court.close()
        await bus.close()


def _verify_log(args: argparse.Namespace) -> int:
    from .store.engine import open_engine
    from .store.log import EventLog

    settings = _settings(args)
    log = EventLog(open_engine(settings.effective_database_url))
    hearings = log.hearing_ids() if args.hearing == "all" else [args.hearing]
    failed = 0
    for hid in hearings:
        report = log.verify(hid)
        if report.ok:
            head = f"head seq {report.head_seq} hash {report.head_hash}"
            print(f"{hid}: OK, {report.checked} events, {head}")
        else:
            failed += 1
            print(f"{hid}: BROKEN at seq {report.first_bad_seq}: {report.problem}")
    if not hearings:
        print("no hearings in this database")
    return 1 if failed else 0


def _transcribe(args: argparse.Namespace) -> int:
    from asr.batch import transcribe_file
    from asr.models import ModelMissing, ModelRegistry

    from .paths import models_dir

    registry = ModelRegistry(Path(args.models_dir) if args.models_dir else models_dir())
    try:
        finals = transcribe_file(Path(args.recording), registry, args.language, show_progress=True)
    except ModelMissing as exc:
        print(f"courtroom transcribe: {exc}", file=sys.stderr)
        return 2
    for f in finals:
        print(f"[{f.t0:8.2f} - {f.t1:8.2f}] {f.text}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url", help="default: SQLite in the data dir (env COURTROOM_DATABASE_URL)"
    )
    p.add_argument("--data-dir", help="default: ./courtroom-data (env COURTROOM_DATA_DIR)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="courtroom", description="Online courtroom server.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default 8000")
    serve.add_argument("--redis-url", help="share events between nodes (env COURTROOM_REDIS_URL)")
    serve.add_argument("--models-dir", help="default ../shared/models (env COURTROOM_MODELS_DIR)")
    serve.add_argument("--public-url", help="base URL in join links (env COURTROOM_PUBLIC_URL)")
    serve.add_argument(
        "--ice-loopback-only", action="store_true", help="testing: media on 127.0.0.1 only"
    )
    _common(serve)

    demo = sub.add_parser("demo", help="create a sample hearing and print join links for each role")
    demo.add_argument("--public-url", help="base URL in join links")
    _common(demo)

    vlog = sub.add_parser(
        "verify-log", help="verify a hearing's hash chain ('all' for every hearing)"
    )
    vlog.add_argument("hearing")
    _common(vlog)

    tr = sub.add_parser("transcribe", help="re-transcribe a stored recording (WAV, WebM/Opus)")
    tr.add_argument("recording")
    tr.add_argument("--language", default="zh", help="zh, en, ko ... (default zh)")
    tr.add_argument("--models-dir", help="default ../shared/models (env COURTROOM_MODELS_DIR)")

    sub.add_parser(
        "init-keys", help="make a development CA, court seal and TSA certificate", add_help=False
    )
    sub.add_parser(
        "verify",
        help="verify a sealed record offline: courtroom verify <record.pdf>",
        add_help=False,
    )

    argv = list(sys.argv[1:] if argv is None else argv)
    # These two own their options (courtroom.record); hand them the rest of the line.
    if argv and argv[0] == "init-keys":
        from .record.keys import main_init_keys

        return main_init_keys(argv[1:])
    if argv and argv[0] == "verify":
        from .record.verify import main_verify

        return main_verify(argv[1:])
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return _serve(args)
    if args.cmd == "demo":
        asyncio.run(_demo(_settings(args)))
        return 0
    if args.cmd == "verify-log":
        return _verify_log(args)
    if args.cmd == "transcribe":
        return _transcribe(args)
    parser.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())

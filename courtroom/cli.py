"""``courtroom``: serve, demo, verify-log, and the record tools."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        node_url=getattr(args, "node_url", None),
        node_id=getattr(args, "node_id", None),
        lease_ttl_s=getattr(args, "lease_ttl", None),
    )


EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def event_loop(choice: str) -> str:
    """"auto" is uvloop when it is importable: it runs the media path's datagram and
    task callbacks in C (scripts/bench_media.py measures both loops, docs/media.md)."""
    if choice != "auto":
        return choice
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from . import logs, protocol
    from .logs import log_config, log_format
    from .server.app import create_app
    from .server.status import server_status, startup_lines

    if bool(args.tls_cert) != bool(args.tls_key):
        print("courtroom serve: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    for path in (args.tls_cert, args.tls_key):
        if path and not Path(path).is_file():
            print(f"courtroom serve: no such file: {path}", file=sys.stderr)
            return 2
    choice = args.event_loop or os.environ.get("COURTROOM_EVENT_LOOP") or "auto"
    if choice not in EVENT_LOOPS:
        print(f"courtroom serve: COURTROOM_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}",
              file=sys.stderr)
        return 2
    settings = _settings(args)
    if settings.clustered:
        logs.NODE = settings.effective_node_id  # JSON log lines say which node wrote them
    base = settings.base_url
    if args.tls_cert and not settings.public_url:
        base = base.replace("http://", "https://", 1)
    print(f"courtroom: serving on {base}", flush=True)
    for line in startup_lines(server_status(settings)):
        print(f"courtroom: {line}", flush=True)
    if args.tls_cert:
        print(f"courtroom: HTTPS with certificate {Path(args.tls_cert).resolve()}", flush=True)
    loop = event_loop(choice)
    print(f"courtroom: event loop {loop}", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_max_size=protocol.TRANSPORT_MAX_BYTES,
        log_level="info",
        log_config=log_config(args.log_format or log_format()) or uvicorn.config.LOGGING_CONFIG,
        lifespan="on",
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        loop=loop,
    )
    uvicorn.Server(config).run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.sealed:
        from .demo.sealed import main_sealed

        return main_sealed(settings, Path(args.sealed))
    from .demo.links import run

    port = args.port if args.port is not None else settings.port
    return run(settings, server=args.server, port=port, language=args.language)


def _verify_log(args: argparse.Namespace) -> int:
    from .store.engine import open_engine
    from .store.log import EventLog

    settings = _settings(args)
    log = EventLog(open_engine(settings.effective_database_url))
    known = log.hearing_ids()
    if args.hearing == "all" and not known:
        print(f"no hearings in this database ({settings.effective_database_url})")
        return 0
    if args.hearing != "all" and args.hearing not in known:
        print(
            f"courtroom verify-log: no hearing {args.hearing!r} in "
            f"{settings.effective_database_url} ({len(known)} hearing(s) there; "
            "`courtroom verify-log all` checks them all)",
            file=sys.stderr,
        )
        return 2
    hearings = known if args.hearing == "all" else [args.hearing]
    failed = 0
    for hid in hearings:
        report = log.verify(hid)
        if report.ok:
            head = f"head seq {report.head_seq} hash {report.head_hash}"
            print(f"{hid}: OK, {report.checked} events, {head}")
        else:
            failed += 1
            print(f"{hid}: BROKEN at seq {report.first_bad_seq}: {report.problem}")
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


def _drain(args: argparse.Namespace) -> int:
    """Ask a node to give its hearings to the others: over its REST API, or through Redis."""
    import asyncio

    import httpx

    from .config import load_or_create_secret

    settings = _settings(args)
    if args.node_id:
        from .server.placement import request_drain

        if not settings.redis_url:
            print("courtroom drain: --node-id needs --redis-url", file=sys.stderr)
            return 2
        asyncio.run(request_drain(settings.redis_url, args.node_id))
        print(f"node {args.node_id} drains at its next heartbeat")
        return 0
    key = load_or_create_secret(settings.data_dir / "registry.key", "COURTROOM_REGISTRY_KEY")
    server = (args.server or settings.base_url).rstrip("/")
    try:
        r = httpx.post(
            f"{server}/api/v1/nodes/self/drain",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            verify=not args.insecure,
        )
    except httpx.HTTPError as exc:
        print(f"courtroom drain: {server}: {exc}", file=sys.stderr)
        return 1
    if r.status_code != 200:
        print(f"courtroom drain: {r.status_code} {r.text}", file=sys.stderr)
        return 1
    body = r.json()
    print(f"node {body['node_id']} drained; {len(body['moved'])} hearing(s) moved")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url", help="default: SQLite in the data dir (env COURTROOM_DATABASE_URL)"
    )
    p.add_argument("--data-dir", help="default: ./courtroom-data (env COURTROOM_DATA_DIR)")


SERVE_HELP = "run the server: REST API, hearing websocket, media, live transcript, discipline watch"
SERVE_DESCRIPTION = (
    "Run the courtroom server with embedded defaults (SQLite in the data dir, in-process event "
    "bus, models from the models dir). At start-up it says which live-transcription languages "
    "and discipline checks are on and where each model was found. Phones need HTTPS for the "
    "camera: pass --tls-cert/--tls-key (scripts/serve --https makes a local certificate), or "
    "put a reverse proxy in front (docs/operations.md)."
)
DEMO_HELP = "schedule a sample hearing and print join links, or run one sealed (--sealed)"
DEMO_DESCRIPTION = (
    "Without --sealed: schedule a sample hearing on the running server (asked over its REST "
    "API, so the links carry its real address) and print each role's join link and code; the "
    "hearing language is one with an installed speech model. With --sealed FILE: start a "
    "server on a free loopback port with the same data dir, run a whole scripted hearing "
    "through it (join, waiting room, oath, call-in, live transcript, close, signatures on "
    "each device, seal) and write the sealed record to FILE, for `courtroom verify FILE`."
)


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help=SERVE_HELP, description=SERVE_DESCRIPTION)
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default 8000")
    serve.add_argument("--redis-url", help="share events between nodes (env COURTROOM_REDIS_URL)")
    serve.add_argument(
        "--models-dir", help="default <data dir>/models (env COURTROOM_MODELS_DIR)"
    )
    serve.add_argument("--public-url", help="base URL in join links (env COURTROOM_PUBLIC_URL)")
    serve.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    serve.add_argument("--tls-key", help="the certificate's PEM private key")
    serve.add_argument(
        "--ice-loopback-only", action="store_true", help="testing: media on 127.0.0.1 only"
    )
    serve.add_argument(
        "--node-url",
        help="several nodes: this node's own public URL; with --redis-url, hearings are placed "
        "on one node each (env COURTROOM_NODE_URL)",
    )
    serve.add_argument("--node-id", help="several nodes: default from --node-url")
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="json: one JSON object per line, with hearing and participant ids "
        "(env COURTROOM_LOG_FORMAT, default text)",
    )
    serve.add_argument(
        "--lease-ttl", type=float, default=None, help="hearing lease, seconds (default 5)"
    )
    serve.add_argument(
        "--event-loop", choices=EVENT_LOOPS, default=None,
        help="auto (default): uvloop when installed, else asyncio's own (env COURTROOM_EVENT_LOOP)",
    )
    _common(serve)


def _demo_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help=DEMO_HELP, description=DEMO_DESCRIPTION)
    demo.add_argument("--server", help="the running server's URL (default: --public-url, else "
                      "http://127.0.0.1:<--port>)")
    demo.add_argument("--port", type=int, default=None, help="the running server's port (8000)")
    demo.add_argument("--public-url", help="base URL in join links (env COURTROOM_PUBLIC_URL)")
    demo.add_argument("--language", choices=["zh", "en", "ko"],
                      help="hearing language (default: the first of zh, en, ko with a model)")
    demo.add_argument("--sealed", metavar="FILE", help="run a whole hearing and seal it to FILE")
    demo.add_argument("--models-dir", help="default <data dir>/models (env COURTROOM_MODELS_DIR)")
    _common(demo)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courtroom",
        description="Online courtroom server: hearings, witness isolation, live transcript, "
        "sealed record. `courtroom COMMAND --help` says more about each command.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _serve_parser(sub)
    _demo_parser(sub)
    drain = sub.add_parser(
        "drain",
        help="move a node's hearings to the other nodes (several nodes)",
        description="The node stops taking hearings and gives each of its hearings to another "
        "live node; their clients reconnect there. By REST to --server (registry key from the "
        "environment or the data dir), or through Redis with --node-id.",
    )
    drain.add_argument("--server", help="the node's URL (default http://127.0.0.1:8000)")
    drain.add_argument("--node-id", help="drain this node through Redis instead")
    drain.add_argument("--redis-url", help="with --node-id (env COURTROOM_REDIS_URL)")
    drain.add_argument("--insecure", action="store_true", help="skip TLS verification")
    _common(drain)
    vlog = sub.add_parser(
        "verify-log",
        help="verify a hearing's hash chain in the database ('all' for every hearing)",
        description="Recompute every hearing's hash chain from the database. Exit status: "
        "0 intact, 1 a chain is broken, 2 no such hearing.",
    )
    vlog.add_argument("hearing", help="hearing id, or 'all'")
    _common(vlog)
    tr = sub.add_parser(
        "transcribe",
        help="re-transcribe a stored recording (WAV, WebM/Opus)",
        description="Decode a recording offline with the language's vosk model.",
    )
    tr.add_argument("recording")
    tr.add_argument("--language", default="zh", help="zh, en, ko ... (default zh)")
    tr.add_argument("--models-dir", help="default <data dir>/models (env COURTROOM_MODELS_DIR)")
    sub.add_parser(
        "init-keys", help="make a development CA, court seal and TSA certificate", add_help=False
    )
    sub.add_parser(
        "verify",
        help="verify a sealed record offline: courtroom verify <record.pdf>",
        add_help=False,
    )
    sub.add_parser(
        "archive-renew",
        help="add a document timestamp to a sealed record before its certificates expire",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # These own their options (courtroom.record); hand them the rest of the line.
    if argv and argv[0] == "init-keys":
        from .record.keys import main_init_keys

        return main_init_keys(argv[1:])
    if argv and argv[0] == "verify":
        from .record.verify import main_verify

        return main_verify(argv[1:])
    if argv and argv[0] == "archive-renew":
        from .record.archive import main as main_archive

        return main_archive(argv[1:])
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return _serve(args)
    if args.cmd == "demo":
        return _demo(args)
    if args.cmd == "drain":
        return _drain(args)
    if args.cmd == "verify-log":
        return _verify_log(args)
    if args.cmd == "transcribe":
        return _transcribe(args)
    parser.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())

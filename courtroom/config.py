"""Server settings. Every value has an embedded default so ``courtroom serve`` just runs."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from .paths import data_dir, models_dir, models_dir_origin


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""  # empty: SQLite in the data dir
    redis_url: str | None = None  # None: the in-process bus
    models_dir: Path = field(default_factory=models_dir)
    models_dir_origin: str = field(default_factory=models_dir_origin)  # for start-up messages
    data_dir: Path = field(default_factory=data_dir)
    public_url: str = ""  # how clients reach us, for join links; empty: http://host:port
    session_ttl_s: int = 15 * 60
    join_code_ttl_s: int = 7 * 24 * 3600
    hello_timeout_s: float = 10.0
    max_failed_codes: int = 5
    # Refusals alike past the first few per window are counted, not logged one by one.
    refusal_window_s: float = 60.0
    refusals_per_window: int = 5
    # Tests run on loopback only; production gathers every interface.
    ice_loopback_only: bool = False
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None  # coturn use-auth-secret: clients get expiring credentials
    # "relay": clients use the TURN server only (phones behind strict firewalls); "all": any
    ice_transport_policy: str = "all"
    # Cluster mode (server/placement.py): on with a Redis URL and this node's own public URL.
    node_url: str = ""
    node_id: str = ""  # empty: derived from node_url
    lease_ttl_s: float = 5.0  # placement.DEFAULT_LEASE_TTL_S: failover in ~5-7 s
    # The public broadcast (courtroom/broadcast/): what the public sees runs this many
    # seconds behind the hearing, so that the judge can pause before it is published.
    broadcast_delay_s: float = 30.0
    broadcast_size: tuple[int, int] = (640, 360)
    broadcast_fps: int = 15  # must divide 48000 (the audio tick)
    # Transcript captions on the public page: only where the court enables them.
    broadcast_captions: bool = False

    @property
    def clustered(self) -> bool:
        return bool(self.redis_url and self.node_url)

    @property
    def effective_node_id(self) -> str:
        if self.node_id:
            return self.node_id
        return self.node_url.split("://", 1)[-1].rstrip("/").replace("/", "_")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'courtroom.db'}"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env: dict[str, object] = {}
        if v := os.environ.get("COURTROOM_DATABASE_URL"):
            env["database_url"] = v
        if v := os.environ.get("COURTROOM_REDIS_URL"):
            env["redis_url"] = v
        if v := os.environ.get("COURTROOM_PUBLIC_URL"):
            env["public_url"] = v
        if v := os.environ.get("COURTROOM_SESSION_TTL_S"):
            env["session_ttl_s"] = int(v)
        if v := os.environ.get("COURTROOM_REFUSAL_WINDOW_S"):
            env["refusal_window_s"] = float(v)
        if v := os.environ.get("COURTROOM_STUN_URLS"):
            env["stun_urls"] = tuple(v.split(","))
        if v := os.environ.get("COURTROOM_TURN_URLS"):
            env["turn_urls"] = tuple(v.split(","))
        if v := os.environ.get("COURTROOM_TURN_SECRET"):
            env["turn_secret"] = v
        if v := os.environ.get("COURTROOM_ICE_TRANSPORT_POLICY"):
            if v not in ("all", "relay"):  # refused at start, not at the first hearing
                raise ValueError("COURTROOM_ICE_TRANSPORT_POLICY must be 'all' or 'relay'")
            env["ice_transport_policy"] = v
        if v := os.environ.get("COURTROOM_NODE_URL"):
            env["node_url"] = v
        if v := os.environ.get("COURTROOM_NODE_ID"):
            env["node_id"] = v
        if v := os.environ.get("COURTROOM_LEASE_TTL_S"):
            env["lease_ttl_s"] = float(v)
        env.update(_broadcast_env())
        if os.environ.get("COURTROOM_ICE_LOOPBACK_ONLY", "") in ("1", "true", "yes"):
            env["ice_loopback_only"] = True
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**env)  # type: ignore[arg-type]


def _broadcast_env() -> dict[str, object]:
    env: dict[str, object] = {}
    if v := os.environ.get("COURTROOM_BROADCAST_DELAY_S"):
        env["broadcast_delay_s"] = float(v)
    if v := os.environ.get("COURTROOM_BROADCAST_SIZE"):  # e.g. 1280x720
        width, height = v.lower().split("x")
        env["broadcast_size"] = (int(width), int(height))
    if v := os.environ.get("COURTROOM_BROADCAST_FPS"):
        env["broadcast_fps"] = int(v)
    if os.environ.get("COURTROOM_BROADCAST_CAPTIONS", "") in ("1", "true", "yes"):
        env["broadcast_captions"] = True
    return env


def load_or_create_secret(path: Path, env_var: str) -> str:
    """A secret from the environment, else from ``path``, else a new one saved there (0600)."""
    if value := os.environ.get(env_var):
        return value
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value

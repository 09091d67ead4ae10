"""Media settings for one hearing's hub, ICE servers and TURN REST credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class IceMode(StrEnum):
    """Which host addresses the server's ICE agent uses."""

    ALL_INTERFACES = "all"  # production: every interface (aioice default, skips loopback)
    LOOPBACK_ONLY = "loopback"  # tests/benchmarks: 127.0.0.1 only, no STUN/TURN, off-host ignored


def turn_credentials(secret: str, ttl: int, user: str, *, now: float | None = None
                     ) -> tuple[str, str]:
    """TURN REST API credentials (coturn ``use-auth-secret``).

    username = "<expiry unix time>:<user>", credential = base64(HMAC-SHA1(secret, username)).
    """
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass(frozen=True, kw_only=True)
class MediaConfig:
    ice_mode: IceMode = IceMode.ALL_INTERFACES
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()  # e.g. ("turn:turn.example.org:3478?transport=udp",)
    turn_secret: str | None = None  # coturn static-auth-secret
    turn_ttl: int = 6 * 3600
    video_codec: str = "VP8"  # "VP8" or "H264"; both legs always negotiate this one
    taps: bool = True  # decode once per source for ASR / vision
    recording_dir: Path | None = None  # None: no recording
    segment_seconds: float = 10.0
    min_keyframe_interval: float = 0.25
    # forward RTP packets (media/rtp.py) instead of frames re-packetised by aiortc's sender
    rtp_forwarding: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def loopback_only(self) -> bool:
        return self.ice_mode is IceMode.LOOPBACK_ONLY

    def ice_servers(self, user: str, *, now: float | None = None) -> list[dict[str, Any]]:
        """ICE servers as handed to a client (RTCConfiguration.iceServers shape)."""
        if self.loopback_only:
            return []
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls and self.turn_secret:
            username, credential = turn_credentials(self.turn_secret, self.turn_ttl, user,
                                                    now=now)
            servers.append({"urls": list(self.turn_urls), "username": username,
                            "credential": credential})
        return servers

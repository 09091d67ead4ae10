"""Media settings for one hearing's hub, ICE servers and TURN REST credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# quiet audio (media/quiet.py): the ASR gate opens at -50 dBFS, so -58 dBov leaves 8 dB
DEFAULT_QUIET_DBOV = -58.0

# Audio packet duration the server's offers ask publishers for (``a=ptime``, media/peer.py):
# half the packets of the browsers' default 20 ms, for 20 ms more delay (docs/media.md).
DEFAULT_AUDIO_PTIME_MS = 40
AUDIO_PTIMES_MS = (10, 20, 40, 60)  # Opus frame sizes a browser can send in one packet

# Hosts of a TURN URL that a loopback-only node may still hand out: the local coturn of
# scripts/cluster, which relays a browser's media to the node's 127.0.0.1 candidates.
ICE_TRANSPORT_POLICIES = ("all", "relay")


class IceMode(StrEnum):
    """Which host addresses the server's ICE agent uses."""

    ALL_INTERFACES = "all"  # production: every interface (aioice default, skips loopback)
    # tests/benchmarks: 127.0.0.1 only, off-host ignored; no STUN, and clients get only a
    # TURN server on loopback (the node itself gathers host candidates only)
    LOOPBACK_ONLY = "loopback"


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
    # "relay": clients are told to use TURN only (RTCConfiguration.iceTransportPolicy), for a
    # court whose phones sit behind firewalls that let only the TURN server through.
    ice_transport_policy: str = "all"
    video_codec: str = "VP8"  # "VP8" or "H264"; both legs always negotiate this one
    taps: bool = True  # decode once per source for ASR / vision
    recording_dir: Path | None = None  # None: no recording
    segment_seconds: float = 10.0
    min_keyframe_interval: float = 0.25
    # forward RTP packets (media/rtp.py) instead of frames re-packetised by aiortc's sender
    rtp_forwarding: bool = True
    # audio the sender marks at or below this level (dBov, RFC 6464) is not decoded for the
    # taps once it has been quiet for 1 s (media/quiet.py); None decodes everything
    quiet_audio_dbov: float | None = DEFAULT_QUIET_DBOV
    # SRTP handled in the socket callback (media/aiortc_receive.py); False keeps aiortc's
    # queue and receive task per packet
    inline_receive: bool = True
    # the Opus packet duration asked of publishers in every offer (a=ptime); None asks nothing
    # (browsers then send 20 ms). Clients that ignore it are served as before.
    audio_ptime_ms: int | None = DEFAULT_AUDIO_PTIME_MS
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def loopback_only(self) -> bool:
        return self.ice_mode is IceMode.LOOPBACK_ONLY

    def __post_init__(self) -> None:
        if self.ice_transport_policy not in ICE_TRANSPORT_POLICIES:
            raise ValueError(f"ice_transport_policy must be one of {ICE_TRANSPORT_POLICIES}")
        if self.audio_ptime_ms is not None and self.audio_ptime_ms not in AUDIO_PTIMES_MS:
            raise ValueError(f"audio_ptime_ms must be one of {AUDIO_PTIMES_MS} or None")

    def ice_servers(self, user: str, *, now: float | None = None) -> list[dict[str, Any]]:
        """ICE servers as handed to a client (RTCConfiguration.iceServers shape).

        Loopback-only: no STUN (nothing to reflect on loopback) and only TURN URLs on
        loopback, so that a browser can be made to relay through the local coturn.
        """
        stun = () if self.loopback_only else self.stun_urls
        turn = tuple(u for u in self.turn_urls if not self.loopback_only or _on_loopback(u))
        servers: list[dict[str, Any]] = []
        if stun:
            servers.append({"urls": list(stun)})
        if turn and self.turn_secret:
            username, credential = turn_credentials(self.turn_secret, self.turn_ttl, user,
                                                    now=now)
            servers.append({"urls": list(turn), "username": username, "credential": credential})
        return servers

    def server_ice_servers(self, user: str) -> list[dict[str, Any]]:
        """ICE servers for the node's own side of a peer: none in loopback-only mode, where
        it offers its 127.0.0.1 host candidates only (a client's relay reaches them)."""
        return [] if self.loopback_only else self.ice_servers(user)

    def client_config(self, user: str) -> dict[str, Any]:
        """The ``config`` signal a client builds its RTCPeerConnection from."""
        return {"type": "config", "iceServers": self.ice_servers(user),
                "iceTransportPolicy": self.ice_transport_policy}


def _on_loopback(url: str) -> bool:
    """``turn:127.0.0.1:3478?transport=udp`` -> True (turn: URLs have no ``//``)."""
    rest = url.split(":", 1)[1] if ":" in url else url
    try:
        host = urlsplit("//" + rest.split("?", 1)[0]).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (a name other than localhost, a bad port, junk)
        return False

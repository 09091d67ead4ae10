"""What a node tells clients about ICE: loopback mode still hands out a loopback TURN server
(so a browser can be forced through the local coturn), and the court's relay-only policy."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from courtroom.config import Settings
from media.config import IceMode, MediaConfig

TURNS = ("turn:127.0.0.1:3478?transport=udp", "turn:localhost:3478?transport=tcp",
         "turn:[::1]:3478", "turn:turn.example.org:3478", "turns:127.0.0.2:5349")


def test_loopback_node_hands_out_only_loopback_turn_with_expiring_credentials() -> None:
    config = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, stun_urls=("stun:127.0.0.1:3478",),
                         turn_urls=TURNS, turn_secret="s3cret", turn_ttl=60)
    (turn,) = config.ice_servers("p-1", now=1000.0)
    assert turn["urls"] == [u for u in TURNS if "example.org" not in u]  # no STUN, no off-host
    assert turn["username"] == "1060:p-1"
    expected = hmac.new(b"s3cret", b"1060:p-1", hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    # the node's own side stays on its 127.0.0.1 host candidates
    assert config.server_ice_servers("p-1") == []


def test_loopback_node_without_secret_or_loopback_url_hands_out_nothing() -> None:
    assert MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, turn_urls=TURNS).ice_servers("p") == []
    off_host = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, turn_secret="s",
                           turn_urls=("turn:turn.example.org", "turn:127.evil.example.org",
                                      "turn:", "nonsense", "turn:\ud800:3478"))
    assert off_host.ice_servers("p") == []


def test_config_signal_carries_the_courts_transport_policy() -> None:
    relay = MediaConfig(turn_urls=TURNS[:1], turn_secret="s", ice_transport_policy="relay")
    signal = relay.client_config("p")
    assert signal["type"] == "config" and signal["iceTransportPolicy"] == "relay"
    assert signal["iceServers"][0]["urls"] == list(TURNS[:1])
    assert relay.server_ice_servers("p") == relay.ice_servers("p")  # production: both sides
    assert MediaConfig().client_config("p")["iceTransportPolicy"] == "all"
    with pytest.raises(ValueError):
        MediaConfig(ice_transport_policy="none")


def test_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTROOM_ICE_TRANSPORT_POLICY", "relay")
    assert Settings.from_env().ice_transport_policy == "relay"
    monkeypatch.setenv("COURTROOM_ICE_TRANSPORT_POLICY", "public")
    with pytest.raises(ValueError):
        Settings.from_env()

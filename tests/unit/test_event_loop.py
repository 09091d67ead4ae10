"""`courtroom serve` runs on uvloop when it is installed (it is a dependency), and can be told
to use asyncio's own loop (`--event-loop asyncio` / COURTROOM_EVENT_LOOP)."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn

from courtroom import cli


def test_auto_is_uvloop_and_each_choice_is_one_uvicorn_runs() -> None:
    assert cli.event_loop("auto") == "uvloop"
    assert cli.event_loop("asyncio") == "asyncio"
    for choice in cli.EVENT_LOOPS:
        factory = uvicorn.Config(app=None, loop=cli.event_loop(choice)).get_loop_factory()
        assert factory is not None
        loop = factory()
        try:
            want = "uvloop" if cli.event_loop(choice) == "uvloop" else "asyncio"
            assert type(loop).__module__.split(".")[0] == want
        finally:
            loop.close()
    assert isinstance(asyncio.new_event_loop(), asyncio.AbstractEventLoop)


@pytest.mark.parametrize("value", ["", "trio", "uvloop\udcff", "ASYNCIO"])
def test_a_bad_choice_is_refused_before_serving(value: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURTROOM_EVENT_LOOP", value)
    if value == "":  # empty: the default applies; refuse nothing, but do not start a server
        assert cli.event_loop("auto") == "uvloop"
        return
    assert cli.main(["serve", "--port", "1"]) == 2
    assert "COURTROOM_EVENT_LOOP" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["serve", "--event-loop", value])

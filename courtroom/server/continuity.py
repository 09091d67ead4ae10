"""After a hearing moves to this node: one recording clock, and its gap in the log.

Times of recordings, media gaps and transcript lines are on the hearing's *recording clock*,
which a node's media hub starts when it opens the hearing's room. A node that takes a moved
hearing over would start a clock of its own at 0, and its files and transcript lines would
overlap the old node's. So, when this node acquires a hearing (``Placement.on_acquired``), it
reads where the old clock stood from the log: each ``recording_finished`` (every
``segment_seconds``, 10 s) carries its ``end`` on that clock and the log its wall time, so the
clock's origin in wall time is ``at - end`` (to the few milliseconds between a file's end and
its log entry). The new room's clock (``MediaRooms.on_room``) continues from that origin.

The old node's unfinished segment died with it (never hashed, never logged), so the recording
of each track has a hole from the ``end`` of its last logged file to the ``start`` of the first
file this node finishes. That hole is logged as a ``media_gap`` just before that file's
``recording_finished``: "recording continues in a new segment whose gap is logged", and on an
audio track the transcript marks it as a line of its own (domain/transcript.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from media.recording import FinishedFile

from ..domain import events as ev
from ..domain.routing import MediaKind
from ..store.log import EventLog
from .placement import Previous

if TYPE_CHECKING:
    from .media_bridge import HearingMedia

log = logging.getLogger(__name__)


@dataclass
class Resumption:
    """What a moved hearing's new room needs: the clock's origin and each track's last end."""

    origin_wall: float | None = None  # epoch seconds at recording clock 0
    last_end: dict[tuple[str, str], float] = field(default_factory=dict)  # (participant, kind)


def resumption_from(entries: list[tuple[float, str, dict[str, object]]]) -> Resumption:
    """From ``(wall time, type, payload)`` log entries: the old clock and each track's end."""
    out = Resumption()
    for at, kind, payload in entries:
        if kind != ev.RecordingFinished.TYPE:
            continue
        end = float(payload["end"])  # type: ignore[arg-type]
        out.origin_wall = at - end  # the latest file anchors it best
        track = (str(payload["participant"]), str(payload["kind"]))
        out.last_end[track] = max(end, out.last_end.get(track, 0.0))
    return out


class Continuity:
    """Plugs into placement (``on_acquired``) and the media rooms (``on_room``)."""

    def __init__(self, event_log: EventLog, node_id: str) -> None:
        self._log = event_log
        self._node_id = node_id
        self._moved: dict[str, asyncio.Task[Resumption]] = {}

    async def on_acquired(self, hearing_id: str, previous: Previous | None) -> None:
        if previous is None or previous.node_id == self._node_id:
            return  # not a move: this node's own clock is the hearing's
        self._moved[hearing_id] = asyncio.create_task(self._read(hearing_id))

    async def _read(self, hearing_id: str) -> Resumption:
        entries = await asyncio.to_thread(self._log.read, hearing_id)
        return resumption_from([(e.at.timestamp(), e.type, e.payload) for e in entries])

    async def on_room(self, room: HearingMedia) -> None:
        hearing_id = room.runtime.hearing_id
        pending = self._moved.pop(hearing_id, None)
        if pending is None:
            return
        resumed = await pending
        if resumed.origin_wall is None:
            return  # nothing was recorded before the move: no clock to continue, no hole
        clock = room.hub.clock
        # RecordingClock counts from a monotonic origin: put it where the old node's was.
        clock._origin = time.monotonic() - (time.time() - resumed.origin_wall)
        log.info(
            "hearing %s: recording clock continues at %.1f s after the move",
            hearing_id, clock.now(),
        )  # fmt: skip
        _log_holes(room, resumed)


def _log_holes(room: HearingMedia, resumed: Resumption) -> None:
    """Before each track's first new file, log the hole since its last file before the move."""
    open_holes = dict(resumed.last_end)
    downstream = room.hub.on_recording

    def recorded(finished: FinishedFile) -> None:
        t0 = open_holes.pop((finished.participant, finished.kind), None)
        t1 = round(finished.start, 3)  # as recording_finished has it
        if t0 is not None and t1 > t0:
            gap = ev.MediaGap(finished.participant, MediaKind(finished.kind), t0, t1)
            # spawned before the file's own event, so the log has the gap first
            room._spawn(room.runtime.record([gap]))
        if downstream is not None:
            downstream(finished)

    room.hub.on_recording = recorded

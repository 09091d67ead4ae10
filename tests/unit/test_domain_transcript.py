"""The transcript as a fold of events: corrections kept, frozen at close, exported."""

from __future__ import annotations

from domain_fixtures import NOW, actor, in_phase, scheduled, with_cast

from courtroom.domain import commands as c
from courtroom.domain import events as e
from courtroom.domain.codec import from_json, to_json
from courtroom.domain.errors import Refusal, Rejected
from courtroom.domain.hearing import decide, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.presence import Presence
from courtroom.domain.routing import MediaKind
from courtroom.domain.transcript import (
    AudioGap,
    Word,
    in_time_order,
    to_plain_text,
    to_srt,
    to_webvtt,
)
from courtroom.domain.visibility import may_see

LINES = [
    e.TranscriptLineRecorded("L1", "judge", "现在开庭", 0.5, 1.75, (Word("现在", 0.5, 1.0, 0.9), Word("开庭", 1.0, 1.75, 0.95)), "vosk-model-small-cn-0.22"),
    e.TranscriptLineRecorded("L2", "defendant", "我没有接过钱", 3.0, 4.2, (), "vosk-model-small-cn-0.22"),
    e.TranscriptLineRecorded("L3", "defendant", "一分也没有", 4.4, 5.0, (), "vosk-model-small-cn-0.22"),
    e.TranscriptLineRecorded("L4", "judge", "请原告发表意见", 3661.25, 3663.0, (), "vosk-model-small-cn-0.22"),
]


def hearing():  # type: ignore[no-untyped-def]
    state = in_phase(with_cast(scheduled(), {"witness": Presence.WAITING_ROOM}), Phase.EVIDENCE)
    for line in LINES:
        state = evolve(state, line)
    return state


def test_lines_fold_in_order_and_round_trip_through_json() -> None:
    state = hearing()
    assert [x.line_id for x in state.transcript] == ["L1", "L2", "L3", "L4"]
    assert from_json(e.TranscriptLineRecorded, to_json(LINES[0])) == LINES[0]


def test_a_correction_keeps_every_version() -> None:
    state = hearing()
    out = decide(state, c.CorrectLine("L2", "我没有借过钱"), actor("clerk"), NOW)
    assert out == [e.TranscriptLineCorrected("L2", "我没有借过钱")]
    state = evolve(state, out[0])
    out = decide(state, c.CorrectLine("L2", "我从没有借过钱"), actor("judge"), NOW)
    assert isinstance(out, list)
    state = evolve(state, out[0])
    line = state.transcript[1]
    assert (line.text, line.original, line.earlier) == ("我从没有借过钱", "我没有接过钱", ("我没有接过钱", "我没有借过钱"))
    assert line.corrected and not state.transcript[0].corrected


def test_corrections_are_checked() -> None:
    state = hearing()
    for who, cmd, code in [
        ("defendant", c.CorrectLine("L2", "改"), Refusal.FORBIDDEN),
        ("clerk", c.CorrectLine("L9", "改"), Refusal.INVALID),
        ("clerk", c.CorrectLine("L2", "   "), Refusal.INVALID),
        ("clerk", c.CorrectLine("L2", "长" * 4001), Refusal.INVALID),
    ]:
        out = decide(state, cmd, actor(who), NOW)
        assert isinstance(out, Rejected) and out.code is code, (who, cmd, out)
    assert decide(state, c.CorrectLine("L2", "我没有接过钱"), actor("clerk"), NOW) == []


def test_the_transcript_is_frozen_at_close_and_thawed_by_reopening() -> None:
    state = evolve(hearing(), e.PhaseChanged(Phase.CLOSED, Phase.EVIDENCE, "closed"))
    assert not state.transcript_open
    out = decide(state, c.CorrectLine("L2", "我没有借过钱"), actor("clerk"), NOW)
    assert isinstance(out, Rejected) and out.code is Refusal.WRONG_PHASE
    reopened = decide(state, c.ReopenHearing("the clerk found an error"), actor("judge"), NOW)
    assert isinstance(reopened, list)
    state = evolve(state, reopened[0])
    assert state.transcript_open


def test_waiting_witness_never_sees_transcript_events() -> None:
    state = hearing()
    assert not may_see(state, "witness", LINES[1], "server")
    assert may_see(state, "plaintiff", LINES[1], "server")
    assert may_see(state, "clerk", LINES[1], "server")


NAMES = {"judge": "审判员 张明", "defendant": "被告 赵强"}


def test_webvtt_export() -> None:
    vtt = to_webvtt(hearing().transcript, NAMES)
    assert vtt.startswith("WEBVTT\n\nL1\n00:00:00.500 --> 00:00:01.750\n<v 审判员 张明>现在开庭\n")
    assert "L4\n01:01:01.250 --> 01:01:03.000\n<v 审判员 张明>请原告发表意见\n" in vtt


def test_srt_export_uses_corrected_text() -> None:
    state = evolve(hearing(), e.TranscriptLineCorrected("L2", "我没有借过钱"))
    srt = to_srt(state.transcript, NAMES)
    assert srt.split("\n\n")[1] == "2\n00:00:03,000 --> 00:00:04,200\n被告 赵强: 我没有借过钱"


def test_plain_text_groups_consecutive_lines_by_speaker() -> None:
    state = evolve(hearing(), e.TranscriptLineCorrected("L2", "我没有借过钱"))
    text = to_plain_text(state.transcript, NAMES, ["(2026)京0105民初12345号"])
    assert text == (
        "(2026)京0105民初12345号\n\n"
        "审判员 张明  [00:00:00]\n    现在开庭\n\n"
        "被告 赵强  [00:00:03]\n    我没有借过钱 (corrected)\n    一分也没有\n\n"
        "审判员 张明  [01:01:01]\n    请原告发表意见\n"
    )


# --- media gaps: a dropped audio path is a marked line of the transcript (issue #11 item 5)


def gapped():  # type: ignore[no-untyped-def]
    """The hearing with a 3 s drop of the defendant's audio between L3 and L4, and a video drop."""
    state = hearing()
    state = evolve(state, e.MediaGap("defendant", MediaKind.AUDIO, 12.0, 15.0))
    return evolve(state, e.MediaGap("defendant", MediaKind.VIDEO, 20.0, 24.0))


def test_audio_gaps_fold_into_the_state_and_video_gaps_do_not() -> None:
    assert gapped().audio_gaps == (AudioGap("defendant", 12.0, 15.0),)
    assert hearing().audio_gaps == ()


def test_webvtt_export_marks_a_gap() -> None:
    state = gapped()
    vtt = to_webvtt(state.transcript, NAMES, state.audio_gaps)
    gap = "gap-1\n00:00:12.000 --> 00:00:15.000\n[no audio from 被告 赵强 12.0–15.0 s]\n"
    assert gap in vtt
    assert vtt.index("L3\n") < vtt.index("gap-1\n") < vtt.index("L4\n")
    assert to_webvtt(state.transcript, NAMES) == to_webvtt(hearing().transcript, NAMES)


def test_webvtt_gap_cue_escapes_markup_in_a_name() -> None:
    vtt = to_webvtt((), {"x": "A <b> & B"}, [AudioGap("x", 1.0, 4.5)])
    assert "[no audio from A &lt;b&gt; &amp; B 1.0–4.5 s]" in vtt


def test_srt_export_marks_a_gap_and_numbers_it_with_the_lines() -> None:
    state = gapped()
    cues = to_srt(state.transcript, NAMES, state.audio_gaps).split("\n\n")
    assert cues[3] == "4\n00:00:12,000 --> 00:00:15,000\n[no audio from 被告 赵强 12.0–15.0 s]"
    assert cues[4].startswith("5\n01:01:01,250 --> ")


def test_plain_text_marks_a_gap_as_its_own_paragraph() -> None:
    state = gapped()
    text = to_plain_text(state.transcript, NAMES, ["(2026)京0105民初12345号"], state.audio_gaps)
    assert text == (
        "(2026)京0105民初12345号\n\n"
        "审判员 张明  [00:00:00]\n    现在开庭\n\n"
        "被告 赵强  [00:00:03]\n    我没有接过钱\n    一分也没有\n\n"
        "[00:00:12]  [no audio from 被告 赵强 12.0–15.0 s]\n\n"
        "审判员 张明  [01:01:01]\n    请原告发表意见\n"
    )


def test_a_gap_between_lines_of_one_speaker_names_the_speaker_again() -> None:
    state = hearing()
    text = to_plain_text(state.transcript, NAMES, (), [AudioGap("defendant", 4.2, 4.4)])
    assert "    我没有接过钱\n\n[00:00:04]  [no audio from 被告 赵强 4.2–4.4 s]\n\n被告 赵强  [00:00:04]\n    一分也没有\n" in text


def test_gaps_take_their_place_in_time_order() -> None:
    lines = hearing().transcript  # L1 0.5, L2 3.0, L3 4.4, L4 3661.25
    gaps = [
        AudioGap("judge", 5000.0, 5003.0),  # after the last line
        AudioGap("defendant", 3.0, 3.5),  # starts with L2: the line first
        AudioGap("judge", 0.0, 0.4),  # before the first line
        AudioGap("defendant", 2.0, 2.9),
    ]
    order = [x.line_id if not isinstance(x, AudioGap) else f"gap@{x.t0}" for x in in_time_order(lines, gaps)]
    assert order == ["gap@0.0", "L1", "gap@2.0", "L2", "gap@3.0", "L3", "L4", "gap@5000.0"]
    srt = to_srt(lines, NAMES, gaps)
    starts = [cue.split("\n")[1].split(" --> ")[0] for cue in srt.strip().split("\n\n")]
    assert starts == sorted(starts)
    assert [cue.split("\n")[0] for cue in srt.strip().split("\n\n")] == [str(i) for i in range(1, 9)]

"""The decoding boundary (courtroom/inbound.py): what json.loads lets through, refused."""

from __future__ import annotations

import pytest

from courtroom.inbound import MAX_DEPTH, InputError, decode_json
from courtroom.protocol import ErrorCode, ProtocolError, parse


@pytest.mark.parametrize(
    "raw",
    [
        '{"a":"\\ud800"}',
        '{"\\udfff":1}',
        '["x",["\\ud800"]]',
        "[" * 5000 + "]" * 5000,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"a":NaN}',
        '{"a":-Infinity}',
        '{"a":1e999}',
        '{"a":' + "9" * 5000 + "}",
        '{"a":' + str(2**64) + "}",
        b'{"a":"\xff"}',
        b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 bytes
    ],
)
def test_refused_as_malformed(raw: str | bytes) -> None:
    with pytest.raises(InputError) as info:
        decode_json(raw, max_bytes=1 << 20)
    assert info.value.code == "malformed"


def test_fine_input_passes() -> None:
    value = decode_json('{"a":"\\ud83d\\ude00","b":[1,2.5,true,null],"c":"法院"}', max_bytes=100)
    assert value == {"a": "😀", "b": [1, 2.5, True, None], "c": "法院"}


def test_too_large_before_parsing() -> None:
    with pytest.raises(InputError) as info:
        decode_json("[" * 200, max_bytes=100)
    assert info.value.code == "too_large"


def test_protocol_echoes_a_clean_id_only() -> None:
    with pytest.raises(ProtocolError) as info:
        parse('{"v":1,"type":"command","id":"c1","name":"leave","args":{"x":"\\ud800"}}')
    assert (info.value.code, info.value.msg_id) == (ErrorCode.MALFORMED, "c1")
    with pytest.raises(ProtocolError) as info:
        parse('{"v":1,"type":"ping","id":"\\ud800"}')
    assert info.value.msg_id is None


@pytest.mark.parametrize(
    "raw",
    [
        '{"v":1,"type":"ping","extra":1}',
        '{"v":1,"type":"signal","data":{"type":"answer","sdp":"x","seq":true}}',
        '{"v":1,"type":"signal","data":{"type":"hello","more":1}}',
        '{"v":1,"type":["ping"]}',
        '{"v":1,"type":"ping","id":""}',
    ],
)
def test_schema_per_message_type(raw: str) -> None:
    with pytest.raises(ProtocolError):
        parse(raw)

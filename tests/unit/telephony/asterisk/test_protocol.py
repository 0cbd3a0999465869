"""The AMI wire format: frames split anywhere, odd line endings, garbage, header injection."""

from __future__ import annotations

import pytest

from telephony.cti.asterisk.protocol import (
    MAX_FRAME_BYTES,
    Banner,
    Frame,
    FrameParser,
    MalformedFrame,
    encode_action,
)
from telephony.cti.base import CtiError


def test_a_frame_split_across_reads_is_parsed_once_complete() -> None:
    parser = FrameParser()
    data = b"Asterisk Call Manager/7.0.3\r\nEvent: Hangup\r\nUniqueid: 1.1\r\nCause: 16\r\n\r\n"
    parsed = []
    for index in range(len(data)):
        parsed += list(parser.feed(data[index : index + 1]))
    assert parsed[0] == Banner(version="7.0.3")
    frame = parsed[1]
    assert isinstance(frame, Frame)
    assert (frame.event, frame.get("uniqueid"), frame.get("Cause")) == ("Hangup", "1.1", "16")


def test_bare_newlines_are_tolerated_and_repeated_keys_kept() -> None:
    parser = FrameParser(expect_banner=False)
    (frame,) = parser.feed(b"Event: VarSet\nVariable: A=1\nVariable: B=2\n\n")
    assert isinstance(frame, Frame)
    assert frame.get_all("Variable") == ["A=1", "B=2"]


def test_lines_without_a_header_name_make_the_frame_malformed() -> None:
    parser = FrameParser(expect_banner=False)
    bad, good = parser.feed(b"hello world\r\nEvent: X\r\n\r\nEvent: Hangup\r\n\r\n")
    assert isinstance(bad, MalformedFrame)
    assert isinstance(good, Frame) and good.event == "Hangup"


def test_a_frame_with_neither_event_nor_response_is_malformed() -> None:
    (frame,) = FrameParser(expect_banner=False).feed(b"Foo: bar\r\n\r\n")
    assert isinstance(frame, MalformedFrame)


def test_an_endless_frame_is_dropped_instead_of_filling_memory() -> None:
    parser = FrameParser(expect_banner=False)
    parsed = list(parser.feed(b"Event: X\r\nData: " + b"x" * (MAX_FRAME_BYTES + 10)))
    assert len(parsed) == 1 and isinstance(parsed[0], MalformedFrame)
    assert list(parser.feed(b"\r\n\r\nEvent: Hangup\r\n\r\n"))[-1] == Frame(
        pairs=(("Event", "Hangup"),)
    )


def test_invalid_utf8_does_not_break_the_parser() -> None:
    (frame,) = FrameParser(expect_banner=False).feed(b"Event: X\r\nCallerIDName: M\xfcller\r\n\r\n")
    assert isinstance(frame, Frame) and frame.get("CallerIDName").startswith("M")


def test_an_action_is_encoded_with_its_action_id_and_crlf() -> None:
    data = encode_action("Hangup", [("Channel", "PJSIP/2001-00000001")], "a-1")
    assert data == b"Action: Hangup\r\nActionID: a-1\r\nChannel: PJSIP/2001-00000001\r\n\r\n"


@pytest.mark.parametrize("value", ["x\r\nAction: Command", "x\nCommand: core stop now"])
def test_values_with_line_breaks_cannot_inject_headers(value: str) -> None:
    with pytest.raises(CtiError, match="line breaks"):
        encode_action("Redirect", [("Exten", value)], "a-1")

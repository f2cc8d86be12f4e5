"""Reading a stream ahead: every message handed over as it arrives, answers in order, bounded, ends cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from backend.enforcement.batching import ReadAhead


def recording(handed: list[int]) -> Callable[[int], int]:
    """A hand-over that notes each message it was given and gives the message back."""

    def hand_over(message: int) -> int:
        handed.append(message)
        return message

    return hand_over


def test_an_empty_stream_gives_nothing() -> None:
    assert list(ReadAhead(iter([]), str, 4, lambda: True)) == []


def test_every_message_is_handed_over_once_and_given_back_in_order() -> None:
    handed: list[int] = []
    assert list(ReadAhead(iter(range(1000)), recording(handed), 4, lambda: True)) == list(range(1000))
    assert handed == list(range(1000))


def test_the_next_message_is_handed_over_while_the_last_one_is_being_answered() -> None:
    handed = [threading.Event() for _ in range(3)]

    def hand_over(message: int) -> int:
        handed[message].set()
        return message

    ahead = iter(ReadAhead(iter(range(3)), hand_over, 4, lambda: True))
    assert next(ahead) == 0
    # The first answer is not given back yet, and the other two messages are already handed over.
    assert handed[1].wait(5) and handed[2].wait(5)
    assert list(ahead) == [1, 2]


def test_no_more_than_ahead_wait_to_be_taken() -> None:
    handed: list[int] = []
    ahead = iter(ReadAhead(iter(range(100)), recording(handed), 3, lambda: True))
    assert next(ahead) == 0
    # 0 was taken; 3 wait in the queue; the reader holds one more it cannot put, and reads no further.
    deadline = time.monotonic() + 10
    while len(handed) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(handed) == 5
    assert list(ahead) == list(range(1, 100))


def test_a_broken_stream_ends_after_what_arrived() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("client hung up")

    assert list(ReadAhead(source(), lambda message: message * 10, 8, lambda: True)) == [10, 20]


def test_a_failed_hand_over_is_raised_to_the_answering_side() -> None:
    def hand_over(message: int) -> int:
        if message == 2:
            raise ValueError("cannot hand over 2")
        return message

    answers = []
    with pytest.raises(ValueError, match="cannot hand over 2"):
        for answer in ReadAhead(iter(range(5)), hand_over, 8, lambda: True):
            answers.append(answer)
    assert answers == [0, 1]


def test_a_hung_up_call_stops_the_reader() -> None:
    handed: list[int] = []
    ahead = ReadAhead(iter(range(10_000)), recording(handed), 2, lambda: False)
    assert list(ahead) == []  # nothing is given back to a call that is no longer active
    threading.Event().wait(0.5)
    assert len(handed) <= 1  # the reader stopped at the first message it could not put


def test_ahead_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ReadAhead(iter([]), str, 0, lambda: True)

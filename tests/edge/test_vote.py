from dataclasses import replace

import pytest

from edge.types import Candidate
from edge.vote import vote
from tests.edge.builders import observation


def test_no_frames() -> None:
    assert vote([]) is None


def test_no_readable_frames() -> None:
    assert vote([observation(None), observation("")]) is None


def test_one_frame() -> None:
    result = vote([observation("B123ABC", 0.8)])
    assert result is not None
    assert (result.text, result.frames_voted, result.alternatives) == ("B123ABC", 1, ())
    assert result.confidence == pytest.approx(0.8)
    assert result.char_confidences == pytest.approx((0.8,) * 7)


def test_agreeing_frames() -> None:
    result = vote([observation("B123ABC", 0.9, frame=i) for i in range(3)])
    assert result is not None and result.text == "B123ABC" and result.confidence == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        # each frame gets one character wrong; the per-position vote fixes all of them
        ([("B12EABC", 0.9), ("8123ABC", 0.9), ("B123A8C", 0.9)], "B123ABC"),
        # a confident frame outvotes a weak one
        ([("B123ABC", 0.9), ("B123A8C", 0.3)], "B123ABC"),
        # two weak frames outvote one confident frame
        ([("B123ABC", 0.5), ("B123ABC", 0.5), ("8123ABC", 0.8)], "B123ABC"),
        # the length is voted first: a frame that dropped a character does not shift the others
        ([("B123ABC", 0.6), ("B123AB", 0.9), ("B123ABC", 0.6)], "B123ABC"),
    ],
)
def test_disagreeing_frames(readings: list[tuple[str, float]], expected: str) -> None:
    result = vote([observation(text, conf, frame=i) for i, (text, conf) in enumerate(readings)])
    assert result is not None and result.text == expected


def test_disagreement_lowers_confidence_and_gives_alternatives() -> None:
    result = vote([observation("B123ABC", 0.9, 0), observation("B123ABC", 0.9, 1), observation("8123ABC", 0.9, 2)])
    assert result is not None
    assert result.char_confidences[0] == pytest.approx(0.6)
    assert result.confidence == pytest.approx(0.6)
    assert [alt.text for alt in result.alternatives] == ["8123ABC"]
    assert result.alternatives[0].confidence == pytest.approx(1 / 3)


def test_evidence_is_the_sharpest_frame_that_reads_the_voted_text() -> None:
    frames = [
        observation("B123ABC", 0.9, 0, sharpness=10),
        observation("8123ABC", 0.2, 1, sharpness=500),  # sharpest, but reads otherwise
        observation("B123ABC", 0.9, 2, sharpness=50),
    ]
    result = vote(frames)
    assert result is not None and result.evidence is frames[2]


def test_unreadable_frames_do_not_count() -> None:
    result = vote([observation(None, frame=0), observation("B1", 0.7, frame=1)])
    assert result is not None and result.frames_voted == 1 and result.text == "B1"


def test_the_readers_alternatives_become_the_reads() -> None:
    base = observation("B123ABC", 0.6)
    assert base.reading is not None
    frame = replace(
        base,
        reading=replace(base.reading, alternatives=(Candidate("8123ABC", 0.3), Candidate("B123A8C", 0.1))),
    )
    result = vote([frame])
    assert result is not None and result.text == "B123ABC"
    assert [alt.text for alt in result.alternatives] == ["8123ABC", "B123A8C"]
    assert [alt.confidence for alt in result.alternatives] == pytest.approx([0.3, 0.1])


def test_alternatives_of_frames_and_of_the_reader_add_up() -> None:
    frames = [observation("B123ABC", 0.5, 0), observation("8123ABC", 0.3, 1)]
    first = frames[0].reading
    assert first is not None
    frames[0] = replace(frames[0], reading=replace(first, alternatives=(Candidate("8123ABC", 0.2),)))
    result = vote(frames)
    assert result is not None and result.text == "B123ABC"
    assert [(alt.text, round(alt.confidence, 6)) for alt in result.alternatives] == [("8123ABC", 0.5)]

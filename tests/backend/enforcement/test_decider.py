"""Group commit: the reads of several streams, handed over while a round is being decided, go in one round."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.models import Device
from backend.devices.tokens import add_device
from backend.enforcement.decider import Decider
from backend.enforcement.reads import IncomingRead, VerdictOut
from backend.enforcement.service import EnforcementService
from platepatrol.verdicts import Outcome
from tests.backend.factories import add_permit, incoming_read


class HeldService(EnforcementService):
    """The real service, whose first round waits until released, and which records each round's size."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self.rounds: list[int] = []
        self.entered, self.release = threading.Event(), threading.Event()

    def answer_together(self, sent: Sequence[tuple[IncomingRead, Device]]) -> list[VerdictOut]:
        self.rounds.append(len(sent))
        self.entered.set()
        self.release.wait(timeout=30)
        return super().answer_together(sent)


def cars(session: Session, count: int) -> list[Device]:
    for index in range(count):
        add_device(session, f"car-{index}")
    session.commit()
    return list(session.scalars(select(Device).order_by(Device.name)))


def test_streams_handed_over_during_a_round_are_decided_together(
    sessions: sessionmaker[Session], session: Session
) -> None:
    add_permit(session, "B1GOOD")
    service = HeldService(sessions)
    decider, devices = Decider(service), cars(session, 4)
    plates = ["B1GOOD", "ZZ9BAD"]
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(decider.answer, [incoming_read("first", "B1GOOD")], devices[0])
        assert service.entered.wait(timeout=30)
        # While the first round is held, three streams hand over two reads each.
        later = [
            pool.submit(decider.answer, [incoming_read(f"{car.name}-{p}", p) for p in plates], car)
            for car in devices[1:]
        ]
        while decider.waiting < 3:
            threading.Event().wait(0.01)
        service.release.set()
        assert [v.outcome for v in first.result(timeout=30)] == [Outcome.PERMITTED]
        answers = [future.result(timeout=30) for future in later]
    assert service.rounds == [1, 6]
    for car, verdicts in zip(devices[1:], answers, strict=True):
        assert [(v.read_id, v.outcome) for v in verdicts] == [
            (f"{car.name}-B1GOOD", Outcome.PERMITTED),
            (f"{car.name}-ZZ9BAD", Outcome.VIOLATION),
        ]


def test_a_round_that_fails_fails_every_stream_in_it(sessions: sessionmaker[Session], session: Session) -> None:
    class BrokenService(EnforcementService):
        def answer_together(self, sent: Sequence[tuple[IncomingRead, Device]]) -> list[VerdictOut]:
            raise OperationalError("INSERT", {}, Exception("the database is gone"))

    decider, (car,) = Decider(BrokenService(sessions)), cars(session, 1)
    with pytest.raises(OperationalError, match="the database is gone"):
        decider.answer([incoming_read("r1", "B1")], car)
    assert decider.answer([], car) == []


def test_submitting_does_not_wait_for_the_round(sessions: sessionmaker[Session], session: Session) -> None:
    service = HeldService(sessions)
    decider, (car,) = Decider(service), cars(session, 1)
    first = decider.submit([incoming_read("r1", "ZZ9BAD")], car)
    assert service.entered.wait(timeout=30)
    second = decider.submit([incoming_read("r2", "ZZ9BAD")], car)  # returns while the first round is held
    assert not first.done() and not second.done()
    service.release.set()
    assert [v.read_id for v in first.result(timeout=30) + second.result(timeout=30)] == ["r1", "r2"]
    assert decider.submit([], car).result(timeout=0) == []

"""Provisional verdicts: while the link is down, the car answers from its permit copy and says so."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.permit_cache import PermitCache
from platepatrol.v1 import enforcement_pb2 as pb


def provisional_verdict(read: pb.PlateRead, cache: PermitCache) -> pb.Verdict | None:
    """The answer the copy gives for `read`, marked provisional; None before the copy has a snapshot."""
    decision = cache.decide(read.plate_text, read.captured_at.ToDatetime(tzinfo=UTC), read.confidence)
    if decision is None:
        return None
    verdict = pb.Verdict(
        read_id=read.read_id,
        outcome=pb.Outcome.Value(decision.outcome.value),
        reason=pb.Reason.Value(decision.reason.value),
        sentence=f"provisional, from the car's permit copy: {decision.sentence}",
        plate_text=read.plate_text,
        permit_id=decision.permit.id if decision.permit else "",
        permit_revision=decision.permit.revision if decision.permit else 0,
        candidate_plate=decision.candidate or "",
        permit_data_age_s=cache.age_s() or 0.0,
        provisional=True,
    )
    verdict.decided_at.FromDatetime(datetime.now(UTC))
    return verdict

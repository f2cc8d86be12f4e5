"""The read streams' metadata, beside the gRPC contract (proto/platepatrol/v1/enforcement.proto): how an office of
several serving processes spreads the cars over them, and how a car takes part.

An office started with `processes` above 1 serves one port from every process (SO_REUSEPORT) and the kernel picks a
process for each new connection by a hash of its addresses, so a few cars can land on one process while another
idles (with 4 cars and 2 processes the split is 2 + 2 only 6 times in 16). A process already holding its share of
the read streams refuses a new one with UNAVAILABLE and REBALANCE in the trailing metadata: the car then opens a new
connection at once (which the kernel hashes anew), saying in ATTEMPT how many times it was refused. A stream that
is taken gets ADMITTED in its initial metadata before any verdict.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc

REBALANCE = "platepatrol-rebalance"  # trailing metadata of a refused stream: reconnect, do not wait
ATTEMPT = "platepatrol-attempt"  # sent by the car: how many times in a row its stream was refused
ADMITTED = "platepatrol-admitted"  # initial metadata of a taken stream
MAX_REFUSALS = 8  # a car refused this many times is taken wherever it lands


def refused_to_rebalance(code: grpc.StatusCode | None, trailing: Iterable[tuple[str, str | bytes]]) -> bool:
    """Whether a read stream that ended with `code` and `trailing` metadata was refused to spread the cars: the car
    then connects again at once."""
    return code == grpc.StatusCode.UNAVAILABLE and any(key == REBALANCE for key, _ in trailing)

"""The car's link to the office: its bearer token on every call, and TLS when it is given the office's CA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from edge.link import Link
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import tls_backend


def test_a_link_with_the_offices_ca_speaks_tls_and_authenticates(
    tmp_path: Path, fresh_database_url: Callable[[], str]
) -> None:
    with tls_backend(tmp_path, fresh_database_url()) as (cert, port, token):
        link = Link.to(f"localhost:{port}", token, tls_ca=cert)
        assert link.root_certificates == cert.read_bytes()
        with link.channel() as channel:
            verdict = pb_grpc.EnforcementStub(channel).CheckPlate(
                pb.PlateQuery(plate_text="B1"), metadata=link.metadata, timeout=10
            )
        assert verdict.outcome == pb.VIOLATION
        stranger = Link.to(f"localhost:{port}", "not-a-token", tls_ca=cert)
        with stranger.channel() as channel, pytest.raises(grpc.RpcError) as refused:
            pb_grpc.EnforcementStub(channel).CheckPlate(
                pb.PlateQuery(plate_text="B1"), metadata=stranger.metadata, timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        plain = Link.to(f"localhost:{port}", token)  # no CA: plaintext, which a TLS office refuses
        with plain.channel() as channel, pytest.raises(grpc.RpcError) as unreachable:
            pb_grpc.EnforcementStub(channel).CheckPlate(
                pb.PlateQuery(plate_text="B1"), metadata=plain.metadata, timeout=5
            )
        assert unreachable.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"cannot read the backend's CA certificate .*absent\.pem"):
        Link.to("localhost:1", "token", tls_ca=tmp_path / "absent.pem")

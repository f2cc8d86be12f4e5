"""The backend process's set-up: TLS, health, and config rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from backend.config import BackendConfig, EnforcementPolicy, RetentionPolicy
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import tls_backend


def test_tls_serves_only_tls_clients(tmp_path: Path, fresh_database_url: Callable[[], str]) -> None:
    with tls_backend(tmp_path, fresh_database_url()) as (cert, port, token):
        auth = (("authorization", f"Bearer {token}"),)
        credentials = grpc.ssl_channel_credentials(cert.read_bytes())
        with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
            verdict = pb_grpc.EnforcementStub(channel).CheckPlate(
                pb.PlateQuery(plate_text="B1"), metadata=auth, timeout=10
            )
        assert verdict.outcome == pb.VIOLATION
        with grpc.insecure_channel(f"localhost:{port}") as plain, pytest.raises(grpc.RpcError) as refused:
            pb_grpc.EnforcementStub(plain).CheckPlate(pb.PlateQuery(plate_text="B1"), metadata=auth, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_tls_needs_both_files() -> None:
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        BackendConfig(tls_cert=Path("cert.pem"))


def test_retention_keeps_what_overtime_looks_back_on() -> None:
    with pytest.raises(ValueError, match="must be at least"):
        BackendConfig(
            retention=RetentionPolicy(keep_reads_hours=2), policy=EnforcementPolicy(overtime_lookback_hours=24)
        )

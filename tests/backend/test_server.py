"""The backend process's set-up: TLS, health, and config rules."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from backend.config import BackendConfig, EnforcementPolicy, RetentionPolicy
from backend.server import build_server
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import prepared_database


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_serves_only_tls_clients(tmp_path: Path, fresh_database_url: Callable[[], str]) -> None:
    cert, key = self_signed(tmp_path)
    url = fresh_database_url()
    token, _ = prepared_database(url)
    server, port = build_server(BackendConfig(database_url=url, port=0, tls_cert=cert, tls_key=key))
    server.start()
    try:
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
    finally:
        server.stop(grace=None)


def test_tls_needs_both_files() -> None:
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        BackendConfig(tls_cert=Path("cert.pem"))


def test_retention_keeps_what_overtime_looks_back_on() -> None:
    with pytest.raises(ValueError, match="must be at least"):
        BackendConfig(
            retention=RetentionPolicy(keep_reads_hours=2), policy=EnforcementPolicy(overtime_lookback_hours=24)
        )

"""The committed gRPC code must be exactly what `make proto` makes from the .proto files."""

import importlib.util
from pathlib import Path

from tests.conftest import REPO


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("proto_generate", REPO / "proto" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_has_not_drifted(tmp_path: Path) -> None:
    _generator().generate(tmp_path)  # type: ignore[attr-defined]
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated, "protoc produced nothing"
    committed = REPO / "platepatrol" / "v1"
    stale = [str(rel) for rel in generated if (REPO / rel).read_bytes() != (tmp_path / rel).read_bytes()]
    assert not stale, f"generated code is out of date, run `make proto`: {stale}"
    extra = {p.name for p in committed.glob("*_pb2*")} - {rel.name for rel in generated}
    assert not extra, f"committed files no .proto makes any more: {extra}"

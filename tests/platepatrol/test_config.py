from pathlib import Path

import pytest

from backend.config import BackendConfig, load_backend_config
from edge.config import EdgeConfig, load_edge_config
from platepatrol.errors import UserError


def test_defaults_build() -> None:
    assert load_edge_config() == EdgeConfig()
    assert load_backend_config().port == 50051


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("detector:\n  runtime: onnx\n  bogus: 1\n")
    with pytest.raises(UserError, match=r"detector\.bogus: Extra inputs are not permitted"):
        load_edge_config(path)


def test_bad_value_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "backend.yaml"
    path.write_text("port: 70000\n")
    with pytest.raises(UserError, match=r"port: Input should be less than or equal to 65535"):
        load_backend_config(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="must be a mapping"):
        load_edge_config(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("detector: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_edge_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read config"):
        load_edge_config(tmp_path / "absent.yaml")


def test_flags_override_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("cameras: [{id: left, source: a.mp4}, {id: right, source: b.mp4}]\nbackend: office:50051\n")
    assert [c.id for c in load_edge_config(path).cameras] == ["left", "right"]
    config = load_edge_config(path, source="c.mp4", camera_id="rear", backend=None)
    assert [(c.id, c.source) for c in config.cameras] == [("rear", "c.mp4")]
    assert config.backend == "office:50051"


def test_camera_ids_are_unique_and_at_most_four(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("cameras: [{id: a, source: x}, {id: a, source: y}]\n")
    with pytest.raises(UserError, match="camera ids must be unique"):
        load_edge_config(path)
    path.write_text("cameras: [" + ", ".join(f"{{id: c{i}, source: x}}" for i in range(5)) + "]\n")
    with pytest.raises(UserError, match="cameras: Tuple should have at most 4 items"):
        load_edge_config(path)


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATEPATROL_DATABASE_URL", "postgresql://office/permits")
    assert load_backend_config().database_url == "postgresql://office/permits"
    assert load_backend_config(database_url="sqlite:///x.db").database_url == "sqlite:///x.db"


def test_configs_are_frozen() -> None:
    config = BackendConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.port = 1  # type: ignore[misc]


def test_the_documented_example_is_valid() -> None:
    from tests.conftest import REPO

    config = load_edge_config(REPO / "examples" / "edge.yaml")
    assert config.device_id == "car-17" and config.detector.runtime == "onnx"
    assert [camera.id for camera in config.cameras] == ["front", "right"] and config.gps.kind == "gpx"


def test_a_mount_needs_the_lens_calibration(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("cameras: [{id: left, source: a.mp4, mount: left-mount.yaml}]\n")
    with pytest.raises(UserError, match="needs the camera's calibration file"):
        load_edge_config(path)

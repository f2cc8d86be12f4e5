"""`platepatrol read --json` on real dashcam frames: the output format and the plates it finds."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edge.types import Box
from tests.conftest import REPO

pytestmark = pytest.mark.slow

DASHCAM = REPO.parent / "shared" / "data" / "ro_dashcam"
# Frames of the held-out videos (never trained on) with large, clear plates.
FRAMES = ["dayride_type1_003_t00315.jpg", "dayride_type1_002_t00650.jpg", "dayride_type1_002_t00389.jpg"]


def true_boxes(image: str) -> list[Box]:
    root = ET.parse(DASHCAM / "annotations" / f"{Path(image).stem}.xml").getroot()
    return [
        Box(*(float(obj.findtext(f"bndbox/{k}") or 0) for k in ("xmin", "ymin", "xmax", "ymax")))
        for obj in root.iter("object")
    ]


@pytest.mark.skipif(not DASHCAM.is_dir(), reason="the shared dashcam data is not beside the repo")
def test_read_json_prints_one_object_per_image(tmp_path: Path) -> None:
    images = [str(DASHCAM / "images" / name) for name in FRAMES]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    done = subprocess.run(
        [sys.executable, "-c", "from platepatrol.cli import main; main()", "read", "--json", *images, str(broken)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, "a broken image is reported by the exit status"
    lines = done.stdout.splitlines()
    assert len(lines) == len(images) + 1
    results = [json.loads(line) for line in lines]
    assert [r["image"] for r in results] == [*images, str(broken)]
    assert "not a readable image" in results[-1]["error"]
    for result in results[:-1]:
        assert set(result) == {"image", "plates", "ms"} and result["ms"] > 0
        assert result["plates"], f"no plate read in {result['image']}"
        for plate in result["plates"]:
            assert set(plate) == {"text", "confidence", "box"}
            assert plate["text"].isalnum() and plate["text"] == plate["text"].upper()
            assert 0.0 <= plate["confidence"] <= 1.0
        # the best-scoring plate is one of the labelled plates
        found = Box(*result["plates"][0]["box"])
        assert max(found.iou(truth) for truth in true_boxes(result["image"])) >= 0.5


def test_read_a_folder_of_photos_without_the_shared_data(tmp_path: Path) -> None:
    """The same command on what ships with the repo: rendered plates pasted into a frame of the demo clip, given as
    a folder (its images read in name order), in the text output."""
    import cv2

    from tests.scenes import demo_frame, with_plate

    frame = demo_frame()
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, text in (("b.png", "KL 482 TX"), ("a.png", "B 123 XYZ")):
        cv2.imwrite(str(folder / name), with_plate(frame, text, 300, 560, 180, 40))
    done = subprocess.run(
        [sys.executable, "-c", "from platepatrol.cli import main; main()", "read", str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(folder / "a.png"), str(folder / "b.png")]
    assert "B123XYZ (" in lines[0] and "KL482TX (" in lines[1] and lines[1].endswith(" ms]")


@pytest.mark.parametrize(("flag", "expected"), [("br", ("br",)), ("br, AR", ("br", "ar")), ("none", ()), ("", ())])
def test_the_plate_formats_flag_replaces_the_configs(flag: str, expected: tuple[str, ...]) -> None:
    from edge.config import EdgeConfig, ReaderConfig
    from edge.read_images import with_plate_formats

    config = EdgeConfig(reader=ReaderConfig(plate_formats=("ar",), min_chars=3))
    changed = with_plate_formats(config, flag)
    assert changed.reader.plate_formats == expected
    assert changed.reader.min_chars == 3 and changed.detector == config.detector


@pytest.mark.parametrize("flag", ["xx", "br,br", "br,,xx"])
def test_a_bad_plate_formats_flag_is_a_clear_error(flag: str) -> None:
    from edge.config import EdgeConfig
    from edge.read_images import with_plate_formats
    from platepatrol.errors import UserError

    with pytest.raises(UserError, match="--plate-formats"):
        with_plate_formats(EdgeConfig(), flag)

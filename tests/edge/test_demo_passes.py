"""The shipped detector and reader on the demo clip: one read per vehicle pass, and no legible plate missed."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from difflib import SequenceMatcher

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig, ReaderConfig, TrackerConfig
from edge.detect import make_detector
from edge.pipeline import CameraPipeline
from edge.read import make_reader
from edge.types import Frame
from tests.conftest import REPO
from tests.edge.builders import T0

pytestmark = pytest.mark.slow

SAME_PLATE = 0.75  # the pipeline's own dedupe_similarity: a read this alike is of that plate


def clip_frames() -> Iterator[Frame]:
    video = cv2.VideoCapture(str(REPO / "demo" / "patrol.mp4"))
    fps = video.get(cv2.CAP_PROP_FPS)
    index = 0
    while True:
        ok, image = video.read()
        if not ok:
            break
        pixels = np.asarray(image, dtype=np.uint8)
        yield Frame("front", index, T0 + timedelta(seconds=index / fps), pixels, media_s=index / fps)
        index += 1
    video.release()


def test_each_legible_plate_of_the_demo_clip_is_read_once() -> None:
    with (REPO / "demo" / "plates.csv").open(newline="") as listing:
        legible = [row["plate"] for row in csv.DictReader(listing) if row["legible"] == "yes"]
    pipeline = CameraPipeline("front", make_detector(DetectorConfig()), make_reader(ReaderConfig()), TrackerConfig())
    texts = [read.text for frame in clip_frames() for read in pipeline.process(frame)]
    texts += [read.text for read in pipeline.finish()]
    reads_of = {
        plate: [text for text in texts if SequenceMatcher(None, plate, text).ratio() >= SAME_PLATE] for plate in legible
    }
    assert {plate: len(reads) for plate, reads in reads_of.items()} == dict.fromkeys(legible, 1), texts

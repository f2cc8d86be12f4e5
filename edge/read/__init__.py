"""Plate reading: a `PlateReader` plugin per runtime, chosen by `reader.runtime` in the config."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from edge.config import ReaderConfig
from edge.types import Image, Reading
from platepatrol.errors import UserError

PLUGINS = {
    "plate_ocr": "edge.read.plate_ocr",
    "plate_onnx": "edge.read.plate_onnx",
    "easyocr": "edge.read.easyocr_reader",
}


class PlateReader(Protocol):
    def read(self, crop: Image) -> Reading | None:
        """The plate text in `crop` (BGR), or None when nothing plate-like can be read."""
        ...


class BatchPlateReader(PlateReader, Protocol):
    def read_batch(self, crops: Sequence[Image]) -> list[Reading | None]:
        """Each crop's reading, in one pass where the runtime allows."""
        ...


def make_reader(config: ReaderConfig) -> PlateReader:
    try:
        plugin = importlib.import_module(PLUGINS[config.runtime])
    except ModuleNotFoundError as missing:
        raise UserError(
            f"reader runtime {config.runtime!r} needs the Python package {missing.name!r} (install the 'edge' extra)"
        ) from None
    reader: PlateReader = plugin.load(config)
    return reader

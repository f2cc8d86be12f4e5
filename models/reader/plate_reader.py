"""The plate reader's network for easyocr's custom-recognizer loader (`recog_network='plate_reader'`).

It is easyocr's generation-2 network (VGG features, two BiLSTMs, a linear CTC head) unchanged; only the
head's size (blank + A-Z0-9) and the weights are ours. easyocr builds it as `Model(num_class=..., **network_params)`.
"""

from __future__ import annotations

from easyocr.model.vgg_model import Model  # type: ignore[import-untyped]

__all__ = ["Model"]  # easyocr builds it as Model(num_class=..., input_channel=1, output_channel=256, hidden_size=256)

"""The reader's commands refuse settings that do not fit together, saying which."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from models.training.reader_cli import app


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--synthetic-min-height", "48"], "--synthetic-min-height applies to --synthetic"),
        (["--synthetic", "4", "--synthetic-layout", "moon"], "--synthetic-layout must be one of"),
        (["--synthetic", "4", "--synthetic-renderer", "99"], "--synthetic-renderer must be one of"),
        (["--synthetic", "4", "--synthetic-min-height", "-1"], "greater than or equal to 0"),
    ],
)
def test_eval_reader_refuses_settings_that_do_not_fit(arguments: list[str], complaint: str) -> None:
    result = CliRunner().invoke(app, ["eval-reader", "--runtime", "plate_onnx", *arguments])
    assert result.exit_code == 2
    assert complaint in " ".join(result.output.replace("│", " ").split()), result.output  # rich wraps it in a box

"""Reading and writing the calibration's strict YAML files: unknown keys and bad shapes are clear UserErrors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from platepatrol.config import describe_validation_error
from platepatrol.errors import UserError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml_model(model: type[ModelT], path: Path, what: str) -> ModelT:
    """The `model` held by the YAML file at `path`; `what` names the file in errors ('camera file')."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} {path}: no such file") from None
    except OSError as error:
        raise UserError(f"cannot read {what} {path}: {error.strerror}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise UserError(f"{what} {path} is not valid YAML: {problem}") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{what} {path} must be a mapping of keys to values")
    try:
        return model.model_validate(loaded)
    except ValidationError as error:
        raise UserError(f"bad {what} {path}: {describe_validation_error(error)}") from None


class _Dumper(yaml.SafeDumper):
    """Mappings as blocks, lists of numbers on one line: `dist_coeffs: [-0.25, 0.07, ...]`."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def write_yaml(path: Path, values: dict[str, Any], header: str, what: str) -> None:
    """Write `values` as YAML under a comment `header`, in the order given."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = yaml.dump(values, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(comment + body, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write {what} {path}: {error.strerror}") from None

"""Loading strict, typed configs from YAML: each deployable has one pydantic model with extra='forbid'."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from platepatrol.errors import UserError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config: unknown keys are errors and a built config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe_validation_error(error: ValidationError) -> str:
    """One line naming every bad field: 'grpc.port: Input should be less than 65536; foo: Extra inputs...'."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def build_config(model: type[ConfigT], values: dict[str, Any], source: str) -> ConfigT:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise UserError(f"bad config {source}: {describe_validation_error(error)}") from None


def load_config(model: type[ConfigT], path: Path | None, overrides: dict[str, Any] | None = None) -> ConfigT:
    """Build `model` from the YAML file at `path` (if any) with `overrides` (command-line flags) on top."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UserError(f"cannot read config {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise UserError(f"config {path} is not valid YAML: {error}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise UserError(f"config {path} must be a mapping of keys to values")
        values = dict(loaded or {})
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return build_config(model, values, str(path) if path else "(defaults)")

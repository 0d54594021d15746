"""Settings from defaults, a TOML config file, `CLINQA_*` environment variables and flags.

This is the only place that reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from index.units import UNIT_MODES
from qa.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "CLINQA_"
CHOICES: dict[str, tuple[str, ...]] = {"unit_vectors": UNIT_MODES}  # settings with fixed values


class ConfigError(ValueError):
    """A setting has a bad name or value; the message names it and where it came from."""


def _defaults() -> Settings:
    return Settings(
        index_dir=str(PROJECT_ROOT / "var" / "index"),
        corpus_dir=str(PROJECT_ROOT / "corpus"),
        milvus_uri=str(PROJECT_ROOT / "var" / "milvus.db"),
        models_dir=str(PROJECT_ROOT / "var" / "models"),
    )


def _coerce(name: str, raw: Any, where: str) -> Any:
    field = {f.name: f for f in fields(Settings)}.get(name)
    if field is None:
        raise ConfigError(f"{where}: unknown setting {name!r}")
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return str(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: setting {name!r} expects {type(default).__name__}, got {raw!r}"
        ) from exc


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the four layers; later layers win. `flags` values of None are ignored."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path is None and (Path.cwd() / "clinqa.toml").is_file():
        path = str(Path.cwd() / "clinqa.toml")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        section = data.get("clinqa", data)
        for name, raw in section.items():
            origin[name] = f"config file {path}"
            values[name] = _coerce(name, raw, origin[name])
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key[len(ENV_PREFIX) :].lower()
            origin[name] = f"environment variable {key}"
            values[name] = _coerce(name, raw, origin[name])
    for name, raw in (flags or {}).items():
        if raw is not None:
            origin[name] = f"flag --{name.replace('_', '-')}"
            values[name] = _coerce(name, raw, origin[name])
    for name, allowed in CHOICES.items():
        if name in values and values[name] not in allowed:
            raise ConfigError(
                f"{origin[name]}: setting {name} must be one of {', '.join(allowed)}, "
                f"got {values[name]!r}"
            )
    return _defaults().replace(**values)

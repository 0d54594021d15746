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

from qa.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "CLINQA_"


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
            values[name] = _coerce(name, raw, f"config file {path}")
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key[len(ENV_PREFIX) :].lower()
            values[name] = _coerce(name, raw, f"environment variable {key}")
    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, f"flag --{name.replace('_', '-')}")
    return _defaults().replace(**values)

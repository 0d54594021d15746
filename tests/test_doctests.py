"""The docstring examples of index/, qa/, eval/ and ui/ run (ingest/'s run in test_ingest_text)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("index", "qa", "eval", "ui")


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names += [m.name for m in pkgutil.walk_packages(root.__path__, f"{package}.")]
    return sorted(names)


def test_every_package_is_walked() -> None:
    found = {name.split(".")[0] for name in _modules()}
    assert found == set(PACKAGES) and "index.spans" in _modules()


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"

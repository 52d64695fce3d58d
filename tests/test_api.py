"""The package's public names: every one in __all__ resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import vexy_catalog


def test_every_public_name_resolves():
    for name in vexy_catalog.__all__:
        assert getattr(vexy_catalog, name) is not None, name


def test_importing_the_cli_stays_light():
    # `vexy --help` must not pay for httpx, anyio or sqlite-utils.
    code = (
        "import sys, vexy_catalog.cli; print(sorted(m for m in ('httpx', 'anyio', 'sqlite_utils') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""The dashboard's page, script, styles and uPlot (with its licence) ship in the package:
every file under templates/ and static/ is matched by pyproject's package-data."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hotswap" / "dashboard"


def test_every_asset_is_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["hotswap.dashboard"]
    assets = [
        str(p.relative_to(PACKAGE))
        for folder in ("templates", "static")
        for p in (PACKAGE / folder).rglob("*")
        if p.is_file()
    ]
    assert "static/uPlot.LICENSE" in assets and "templates/index.html" in assets
    assert [a for a in assets if not any(fnmatch.fnmatch(a, g) for g in globs)] == []


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for name in ("templates/index.html", "static/dashboard.js", "static/dashboard.css"):
        text = (PACKAGE / name).read_text()
        assert "https://" not in text and "http://" not in text, name

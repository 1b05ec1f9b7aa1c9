"""The vendored Chart.js: the version README pins, its licence beside it, and every file it
names (its source map) present, or collectstatic's hashed storage refuses to build."""

import re
from pathlib import Path

from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor" / "chartjs"


def test_the_vendored_chartjs_is_the_pinned_version_with_its_licence():
    header = (VENDOR / "chart.umd.min.js").read_text()[:200]
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", header).group(1)
    assert f"Chart.js {version}" in (Path(settings.BASE_DIR) / "README.md").read_text()
    assert "MIT License" in (VENDOR / "LICENSE.md").read_text()


def test_every_file_the_bundle_names_is_there():
    named = re.findall(r"sourceMappingURL=(\S+)", (VENDOR / "chart.umd.min.js").read_text())
    assert named and all((VENDOR / name).is_file() for name in named)

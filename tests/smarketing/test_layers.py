"""The import layers (pyproject's import-linter contracts) hold, and they would catch a reversed import."""

import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("smarketing", "leads", "playbooks", "reports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300, check=False
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    root = Path(settings.BASE_DIR)
    for package in PACKAGES:
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_layers():
    result = lint_imports(Path(settings.BASE_DIR))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_scoring_importing_sales_breaks_the_layers(tmp_path):
    root = copy_of_the_code(tmp_path)
    with (root / "leads" / "scoring" / "services.py").open("a") as module:
        module.write("\nfrom leads.sales import queue  # noqa: E402, F401\n")

    result = lint_imports(root)

    assert result.returncode == 1
    assert "leads.scoring is not allowed to import leads.sales" in result.stdout


def test_leads_importing_reports_breaks_the_layers(tmp_path):
    root = copy_of_the_code(tmp_path)
    with (root / "leads" / "capture" / "services.py").open("a") as module:
        module.write("\nimport reports.selectors  # noqa: E402, F401\n")

    result = lint_imports(root)

    assert result.returncode == 1
    assert "leads.capture.services -> reports.selectors" in result.stdout


def test_the_audit_log_importing_an_app_breaks_the_layers(tmp_path):
    """leads/ and playbooks/ record to smarketing.audit, so it may name their models only by label."""
    root = copy_of_the_code(tmp_path)
    with (root / "smarketing" / "audit" / "services.py").open("a") as module:
        module.write("\nfrom leads.models import Persona  # noqa: E402, F401\n")

    result = lint_imports(root)

    assert result.returncode == 1
    assert "smarketing.audit.services -> leads.models" in result.stdout

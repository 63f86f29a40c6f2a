"""A real package: the wheel built from this tree installs without the repository beside it and its entry
point, `maskkit --version` and `import maskkit` work from another folder; it carries py.typed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_another_folder(tmp_path):
    import shutil

    source = tmp_path / "source"  # a copy of the tree: the build writes nothing into the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "results", "build",
                                                                "*.egg-info", "__pycache__", ".*_cache"))  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w",
         str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("maskkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "maskkit/py.typed" in names and "maskkit/cli/main.py" in names
    assert not any(name.startswith(("tests/", "results/", "studies/")) for name in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: transformers" in metadata and "Requires-Dist: datasets" in metadata
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed copy first, over the current environment
    where = subprocess.run([sys.executable, "-c", "import maskkit; print(maskkit.__file__, maskkit.__version__)"],
                           capture_output=True, text=True, env=env, cwd=elsewhere, timeout=120)  # fmt: skip
    assert where.returncode == 0 and where.stdout.startswith(str(target)), where.stdout + where.stderr
    version = subprocess.run([sys.executable, "-m", "maskkit.cli.main", "--version"], capture_output=True,
                             text=True, env=env, cwd=elsewhere, timeout=120)  # fmt: skip
    assert version.returncode == 0 and version.stdout.startswith("maskkit ")
    usage = subprocess.run([sys.executable, "-m", "maskkit.cli.main", "--help"], capture_output=True, text=True,
                           env=env, cwd=elsewhere, timeout=120)  # fmt: skip
    assert usage.returncode == 0 and "study" in usage.stdout

"""packaging/build.sh builds a one-folder bundle that runs without this Python environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from workstation import __version__

REPO = Path(__file__).resolve().parents[1]

# Building the bundle takes minutes (longer on a busy machine): a timeout of its own.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bundle")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "WORKSTATION_BUILD_DIR": str(work / "build"),
        "WORKSTATION_DIST_DIR": str(work / "dist"),
    }
    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "build.sh")], env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tarball = work / "dist" / f"workstation-{__version__}-linux-{os.uname().machine}.tar.gz"
    assert tarball.exists()
    # Unpack the archive somewhere else: that is what a user gets.
    target = work / "unpacked"
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "tar_filter"):
            archive.extractall(target, filter="tar")
        else:  # extraction filters came with Python 3.11.4 (Debian 12 ships 3.11.2)
            archive.extractall(target)  # our own archive, just built
    return target / "workstation"


def _clean_env(tmp: Path) -> dict[str, str]:
    """No virtual environment, no PYTHONPATH, no site-packages: only what the bundle carries."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8", "WORKSTATION_DATA_DIR": str(tmp / "data")}


def test_bundle_cli_runs_without_the_project_environment(bundle: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    version = subprocess.run(
        [str(bundle / "workstation"), "--version"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0, version.stderr
    assert __version__ in version.stdout
    upgrade = subprocess.run(
        [str(bundle / "workstation"), "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "data" / "workstation.db").exists()
    assert (bundle / "workstation.desktop").exists()
    assert (bundle / "workstation.png").exists()


def test_bundle_window_starts_and_quits_headless(bundle: Path, tmp_path: Path) -> None:
    env = {**_clean_env(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    started = subprocess.run(
        [str(bundle / "workstation-gui"), "--quit-after", "3"], env=env, cwd=tmp_path, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-3000:]
    assert (tmp_path / "data" / "workstation.db").exists()  # the window created its database
    assert (tmp_path / "data" / "gui.ini").exists()  # …and saved its layout on the way out

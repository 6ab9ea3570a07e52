"""A plain (non-editable) install carries everything the program reads at run time."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _site_directories() -> list[str]:
    """Where the running interpreter finds its packages: its environment's site-packages, and the base
    interpreter's when that environment sees them (a venv made with --system-site-packages)."""
    return [p for p in sys.path if Path(p).is_dir() and Path(p).name in ("site-packages", "dist-packages")]


def _borrow_dependencies(python: Path) -> None:
    """Let the new venv import the (large) dependencies from wherever the running tests found them.

    The directories are listed in a .pth file, after the venv's own site-packages, so the workstation
    installed from the wheel is the one imported; being plain paths, the .pth files inside them (an
    editable install of the checkout among them) are not run.
    """
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "_running_environment.pth").write_text("\n".join(_site_directories()) + "\n")


@pytest.mark.slow
def test_wheel_install_runs_migrations_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("workstation-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _borrow_dependencies(python)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    probe = "import sqlalchemy, workstation, workstation.paths as p; print(workstation.__file__); print(p.sql_dir())"
    where = subprocess.run(
        [str(python), "-c", probe],
        cwd=run_dir, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    module_file, sql_dir = where.stdout.split()
    assert str(env_dir) in module_file
    assert str(env_dir) in sql_dir
    db = tmp_path / "installed.db"
    exe = env_dir / "bin" / "workstation"
    up = subprocess.run(
        [str(exe), "--database-url", f"sqlite:///{db}", "db", "upgrade"],
        cwd=run_dir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    status = subprocess.run(
        [str(exe), "--database-url", f"sqlite:///{db}", "db", "status", "--json"],
        cwd=run_dir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["tables"]["mv_features_dashboard_summary"] == 0

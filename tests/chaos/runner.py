"""Runs chaos scenarios: worker processes (each with its own database, zygote and temp folder) take a
share of the seeds; every scenario's result is one JSON line, so progress can be followed and a
failure is never lost with its seed."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "trading"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@dataclass
class Result:
    backend: str
    seed: int
    seconds: float
    violations: list[str]
    notes: list[str]
    plan: str
    stats: dict[str, int]

    @property
    def replay(self) -> str:
        return f"python tests/chaos/run_chaos.py --db {self.backend} --replay {self.seed}"


def worker(backend: str, seeds: list[int], fixtures: str, admin_url: str | None, results: str) -> int:
    """Run ``seeds`` on ``backend`` one after another; append each result to the ``results`` file."""
    import logging

    from scenario import make_plan, timings_json

    os.environ["WORKSTATION_EXECUTION_TIMINGS"] = timings_json()
    # The harness's own actors log their retries; the scenario's result says what matters.
    logging.getLogger().setLevel(logging.CRITICAL)
    for name in ("workstation", "alpaca", "websockets", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{backend}-"))
    os.environ["WORKSTATION_DATA_DIR"] = str(workdir / "harness-data")
    from actors import run_scenario
    from databases import ScenarioDatabases
    from processes import Zygote

    databases = ScenarioDatabases(backend, workdir, admin_url)
    zygote = Zygote()
    done = 0
    try:
        for seed in seeds:
            plan = make_plan(seed)
            folder = workdir / f"scenario-{seed}"
            folder.mkdir()
            started = time.monotonic()
            try:
                url = databases.fresh(folder)
                reset_ms = int((time.monotonic() - started) * 1000)
                violations, notes, stats = run_scenario(plan, url, zygote, folder, Path(fixtures))
            except Exception:
                violations, notes, stats = [f"harness error: {traceback.format_exc()[-1500:]}"], [], {}
            if stats:
                stats["ms_reset"] = reset_ms
            result = Result(backend, seed, time.monotonic() - started, violations, notes, plan.describe(), stats)
            with open(results, "a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(result)) + "\n")
            done += 1
    finally:
        zygote.close()
        databases.close()
        if all(not p.name.startswith("scenario-") for p in workdir.iterdir()):
            shutil.rmtree(workdir, ignore_errors=True)
    return done


def run(
    backends: list[str],
    seeds: list[int],
    *,
    workers: dict[str, int],
    fixtures: Path,
    admin_url: str | None,
    progress: bool = True,
) -> list[Result]:
    """Every seed on every backend; returns the results (also printed as progress when asked)."""
    folder = Path(tempfile.mkdtemp(prefix="chaos-results-"))
    jobs = []
    context = get_context("spawn")
    total = len(seeds) * len(backends)
    with ProcessPoolExecutor(max_workers=sum(workers[b] for b in backends), mp_context=context) as pool:
        for backend in backends:
            count = workers[backend]
            for n in range(count):
                share = seeds[n::count]
                if share:
                    path = folder / f"{backend}-{n}.jsonl"
                    jobs.append(pool.submit(worker, backend, share, str(fixtures), admin_url, str(path)))
        last = 0
        while not all(job.done() for job in jobs):
            time.sleep(2)
            if progress:
                seen = _read(folder)
                if len(seen) != last:
                    last = len(seen)
                    bad = sum(1 for r in seen if r.violations)
                    print(f"  {len(seen)}/{total} scenarios, {bad} with violations", flush=True)
        for job in jobs:
            job.result()
    results = _read(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return results


def _read(folder: Path) -> list[Result]:
    results = []
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                results.append(Result(**json.loads(line)))
    return results

"""The chaos harness's CI subset: 50 seeded scenarios on each database, every invariant after each.

The full run (≥ 1,000 scenarios per database) is a script: ``python tests/chaos/run_chaos.py``.
A failure names its seed and the command that replays it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from runner import run

SCENARIOS = int(os.environ.get("WORKSTATION_CHAOS_SCENARIOS", "50"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_chaos_subset_has_no_invariant_violation(alpaca_fixtures: Path) -> None:
    backends = ["sqlite"]
    admin = os.environ.get("WORKSTATION_TEST_DATABASE_URL")
    if admin:
        backends.append("postgresql")
    elif os.environ.get("WORKSTATION_REQUIRE_POSTGRES") == "1":
        pytest.fail("WORKSTATION_REQUIRE_POSTGRES=1 but WORKSTATION_TEST_DATABASE_URL is not set")
    started = time.monotonic()
    results = run(
        backends,
        list(range(1, SCENARIOS + 1)),
        workers={"sqlite": 3, "postgresql": 3},
        fixtures=alpaca_fixtures,
        admin_url=admin,
        progress=False,
    )
    elapsed = time.monotonic() - started
    assert len(results) == SCENARIOS * len(backends)
    failed = [r for r in results if r.violations]
    report = "\n".join(
        f"seed {r.seed} on {r.backend} ({r.plan}):\n    "
        + "\n    ".join(r.violations[:8])
        + f"\n    replay: {r.replay}"
        for r in failed[:10]
    )
    assert not failed, f"{len(failed)} scenario(s) broke an invariant:\n{report}"
    processes = sum(r.stats.get("processes", 0) for r in results)
    killed = sum(r.stats.get("killed", 0) for r in results)
    assert processes > 2 * len(results) and killed > 0  # the harness really ran processes and killed some
    print(f"chaos subset: {len(results)} scenarios, {processes} processes ({killed} killed) in {elapsed:.0f} s")

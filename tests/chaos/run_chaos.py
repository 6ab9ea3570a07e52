"""The full chaos run, as a script (like the benchmarks): randomized scenarios on each database, every
invariant checked after each, a summary with the figures; a failing seed replays with --replay.

    python tests/chaos/run_chaos.py --scenarios 1000                 # both databases
    python tests/chaos/run_chaos.py --db sqlite --replay 4242         # one scenario, verbose
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runner import run

ROOT = Path(__file__).resolve().parents[2]


def _fixtures() -> Path:
    for folder in (ROOT, *ROOT.parents):
        if (folder.parent / "shared" / "alpaca-fixtures").is_dir():
            return folder.parent / "shared" / "alpaca-fixtures"
    raise SystemExit("../shared/alpaca-fixtures not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=int, default=1000, help="per database")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--replay", type=int, default=None, help="run this one seed and print its plan")
    parser.add_argument("--sqlite-workers", type=int, default=3)
    parser.add_argument("--postgresql-workers", type=int, default=3)
    args = parser.parse_args()
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    admin = os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    seeds = [args.replay] if args.replay is not None else list(range(args.first_seed, args.first_seed + args.scenarios))
    workers = {"sqlite": args.sqlite_workers, "postgresql": args.postgresql_workers}
    if args.replay is not None:
        workers = dict.fromkeys(backends, 1)
    started = time.monotonic()
    print(f"chaos: {len(seeds)} scenario(s) on {', '.join(backends)}, workers {workers}", flush=True)
    results = run(backends, seeds, workers=workers, fixtures=_fixtures(), admin_url=admin)
    elapsed = time.monotonic() - started
    failed = [r for r in results if r.violations]
    for backend in backends:
        mine = [r for r in results if r.backend == backend]
        bad = [r for r in mine if r.violations]
        seconds = sorted(r.seconds for r in mine)
        median = seconds[len(seconds) // 2] if seconds else 0.0
        print(f"  {backend}: {len(mine)} scenarios, {len(bad)} with violations, "
              f"{sum(len(r.violations) for r in bad)} violations; scenario median {median:.1f} s")  # fmt: skip
    totals: dict[str, int] = {}
    for result in results:
        for key, value in result.stats.items():
            totals[key] = totals.get(key, 0) + value
    print("  totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    import resource

    cpu = sum(
        getattr(resource.getrusage(who), field)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for field in ("ru_utime", "ru_stime")
    )
    print(f"  wall time {elapsed / 60:.1f} min; CPU of the harness and its processes {cpu / 60:.1f} min")
    for result in failed[:20]:
        print(f"FAILED seed {result.seed} on {result.backend}: {result.plan}")
        for violation in result.violations[:10]:
            print(f"    {violation}")
        print(f"    replay: {result.replay}")
    if args.replay is not None:
        for result in results:
            print(result.plan)
            print(f"    {result.stats}")
            for note in result.notes:
                print(f"    note: {note}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Entry point of the bundled windowed executable: the workstation window, with any extra CLI options."""

import sys

from workstation.cli import run

run([*sys.argv[1:], "gui"] if any(a.startswith("--database-url") for a in sys.argv[1:]) else ["gui", *sys.argv[1:]])

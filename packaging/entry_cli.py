"""Entry point of the bundled command-line executable."""

from workstation.cli import run

run()

"""Entry point of the bundled windowed executable: the workstation window.

Global options (``--database-url URL``) go before the ``gui`` command, the window's own options
(``--quit-after SECONDS``) after it, whichever order the user typed them in.
"""

import sys

from workstation.cli import run

args = sys.argv[1:]
global_options: list[str] = []
gui_options: list[str] = []
i = 0
while i < len(args):
    if args[i] == "--database-url" and i + 1 < len(args):
        global_options += args[i : i + 2]
        i += 2
        continue
    (global_options if args[i].startswith("--database-url=") else gui_options).append(args[i])
    i += 1
run([*global_options, "gui", *gui_options])

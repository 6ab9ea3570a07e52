#!/usr/bin/env bash
# Start the workstation window under Xvfb on demo data and save PNGs of the main window at 1920x1200
# (OUT.png) and 1366x768 (OUT-1366x768.png), the order ticket with a bracket order (OUT-bracket-ticket.png;
# skipped with a message while the ticket offers no order classes) and the Explain view on a replayed
# model-strategy order, the chart at its bar (OUT-explain.png, the dialog alone in OUT-explain-dialog.png).
#   packaging/screenshot.sh [OUT.png] [--theme dark|light] [--sizes 1920x1200,1366x768]
# XVFB_DISPLAY=91 picks the X display number (default: the first free one).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot.png}"
shift || true

missing=()
command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb xauth)
for lib in libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0; do
    dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export QT_QPA_PLATFORM=xcb
display_args=(-a)
[ -n "${XVFB_DISPLAY:-}" ] && display_args=(-n "$XVFB_DISPLAY")
exec xvfb-run "${display_args[@]}" -s "-screen 0 1920x1200x24" python3 tests/gui/screenshot.py "$out" "$@"

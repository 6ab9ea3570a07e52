#!/usr/bin/env bash
# Build the one-folder application bundle and a versioned tar.gz:
#   dist/workstation/                         workstation, workstation-gui, libraries, data
#   dist/workstation-<version>-linux-<arch>.tar.gz
# Usage: packaging/build.sh            (installs PyInstaller from PyPI when missing)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -c "import PyInstaller" 2>/dev/null || "$PYTHON" -m pip install -q 'pyinstaller>=6.10,<7'
"$PYTHON" -c "import workstation" 2>/dev/null || "$PYTHON" -m pip install -q .

VERSION="$("$PYTHON" -c 'import re,sys; print(re.search(r"__version__ = \"(.+?)\"", open("src/workstation/__init__.py").read()).group(1))')"
ARCH="$(uname -m)"
WORK="${WORKSTATION_BUILD_DIR:-$ROOT/build/pyinstaller}"
DIST="${WORKSTATION_DIST_DIR:-$ROOT/dist}"
mkdir -p "$WORK" "$DIST"

# Render the SVG icon to PNG with Qt (no extra tools needed), for the executables and the .desktop file.
ICON_PNG="$WORK/workstation.png"
QT_QPA_PLATFORM=offscreen "$PYTHON" - "$ROOT/packaging/workstation.svg" "$ICON_PNG" <<'PY'
import sys
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication([])
image = QImage(256, 256, QImage.Format.Format_ARGB32)
image.fill(0)
painter = QPainter(image)
QSvgRenderer(sys.argv[1]).render(painter)
painter.end()
assert image.save(sys.argv[2]), "could not write the icon"
PY

WORKSTATION_ICON="${WORKSTATION_ICON:-}" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "$WORK" --distpath "$DIST" "$ROOT/packaging/workstation.spec"

BUNDLE="$DIST/workstation"
install -m 0644 "$ROOT/packaging/workstation.desktop" "$BUNDLE/workstation.desktop"
install -m 0644 "$ICON_PNG" "$BUNDLE/workstation.png"
cat > "$BUNDLE/README.txt" <<TXT
Workstation $VERSION ($ARCH)
Run ./workstation-gui for the window, ./workstation --help for the command line.
To add it to your desktop menu: copy workstation.desktop to ~/.local/share/applications/ (edit Exec= to the
full path of workstation-gui) and workstation.png to ~/.local/share/icons/.
TXT

"$BUNDLE/workstation" --version
TARBALL="$DIST/workstation-$VERSION-linux-$ARCH.tar.gz"
tar -C "$DIST" -czf "$TARBALL" workstation
echo "bundle:  $BUNDLE"
echo "archive: $TARBALL ($(du -h "$TARBALL" | cut -f1))"

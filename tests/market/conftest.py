import sys
from pathlib import Path

# The local stand-ins (yahoo_stub) are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))

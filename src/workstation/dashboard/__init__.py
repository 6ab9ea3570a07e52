"""Qt-free read services behind the workstation window (the GUI never writes SQL itself)."""

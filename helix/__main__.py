"""`python -m helix` and the PyInstaller entry point."""

from helix.cli import main

main()

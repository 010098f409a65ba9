"""Replaces pyinstaller-hooks-contrib's thinc hook to leave out thinc.tests (pytest-only)."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("thinc", excludes=["tests"])
hiddenimports = collect_submodules("thinc", filter=lambda name: not name.startswith("thinc.tests"))

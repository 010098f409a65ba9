"""Replaces pyinstaller-hooks-contrib's spaCy hook (which collects everything) to leave out
spacy.tests: spaCy imports its languages, pipelines and registries by name, so every other submodule
and data file is still bundled."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata


def _wanted(name: str) -> bool:
    return not name.startswith("spacy.tests")


datas = collect_data_files("spacy", excludes=["tests"]) + copy_metadata("spacy")
hiddenimports = collect_submodules("spacy", filter=_wanted)

"""Presidio's analyzer has no PyInstaller hook: bundle its conf/*.yaml (default recognizer, NLP
engine and analyzer configurations, read through paths relative to its modules) and its metadata.
The predefined recognizers are imported statically from `predefined_recognizers/__init__.py`, so the
analysis finds them; optional third-party recognizers (transformers, stanza, GLiNER, Azure...)
import their libraries lazily and are left out when those are not installed."""

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files("presidio_analyzer") + copy_metadata("presidio_analyzer")

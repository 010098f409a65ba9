"""Helix: an OpenAI-compatible LLM gateway in one process and one SQLite file."""

__version__ = "0.1.0"

"""The dashboard's pages, one module each; common.py holds what they share (live refresh, rows, sections)."""

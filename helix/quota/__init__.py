"""Budgets and rate limits: token buckets, ledgers and request estimates.

Plain in-memory data structures used by the limits stage (helix/pipeline/limits.py). One process owns
them; nothing here touches the database or awaits.
"""

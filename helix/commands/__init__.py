"""Sub-command groups of the `helix` CLI."""

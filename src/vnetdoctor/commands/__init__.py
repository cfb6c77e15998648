"""CLI commands kept in their own modules; each module exposes ``COMMANDS``."""

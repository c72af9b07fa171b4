"""Pieces every domain shares: names, settings, observability, errors, tokens."""

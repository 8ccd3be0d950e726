"""Generators of docs from saved results (not part of any service image)."""

"""The web dashboard (``/``): see routes.py."""

from services.api.dashboard.routes import install

__all__ = ["install"]

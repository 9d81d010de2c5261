"""How the gateway is served: gunicorn with the package's settings file (gateway/gunicorn_conf.py).

``gateway serve``, the end-to-end tests and the benchmark all start gunicorn with :func:`gunicorn_argv`.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

#: The settings file, package data of an installed gateway (loaded by path, see its docstring).
GUNICORN_CONF = Path(str(files("gateway") / "gunicorn_conf.py"))


def gunicorn_argv(app: str | None = None) -> list[str]:
    """The command that serves the gateway (``app``: another WSGI app under the same settings)."""
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *([app] if app else [])]

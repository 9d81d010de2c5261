"""The WSGI entry point: the only module that builds an app at import (gunicorn wsgi:app)."""

from gateway import create_app

app = create_app()

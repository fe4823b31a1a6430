"""The WSGI entry point for gunicorn: `gunicorn api.wsgi:app` (production settings)."""

from api import create_app

app = create_app()

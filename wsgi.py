"""WSGI entry point: `gunicorn wsgi:app`."""
from caseflow import create_app

app = create_app()

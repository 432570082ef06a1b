"""Placeholder blueprint, filled in by the web work."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

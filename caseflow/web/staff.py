"""Placeholder blueprint, filled in by the web work."""
from flask import Blueprint

bp = Blueprint("staff", __name__)

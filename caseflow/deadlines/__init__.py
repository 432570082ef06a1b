"""Deadlines: the policy that sets them (``policy``), where one stands today (``status``), the
rules in force from the database (``settings``) and their recompute after a calendar edit
(``recompute``).  ``policy`` and ``status`` are pure."""

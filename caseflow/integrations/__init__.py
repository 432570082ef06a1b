"""Integrations: the tokens other systems (the 12345 hotline platform…) use on the JSON API, and their webhooks."""

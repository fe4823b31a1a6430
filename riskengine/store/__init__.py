"""Persistence: the tables, their migrations, and every query the service runs."""

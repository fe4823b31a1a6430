"""One blueprint per resource of /api/v1."""

"""The web front end: server-rendered pages (Jinja2 + HTMX) on the same services as the API."""

"""/docs: Swagger UI from the package's static files (no CDN, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from app.web.headers import CONTENT_SECURITY_POLICY

router = APIRouter(include_in_schema=False)

# Swagger UI's React components set style attributes; scripts stay 'self' only
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{openapi_url}" data-oauth2-redirect-url="/static/vendor/swagger-ui/oauth2-redirect.html"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API documentation."""
    app = request.app
    html = PAGE.format(title=app.title, openapi_url=app.openapi_url)
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_POLICY})

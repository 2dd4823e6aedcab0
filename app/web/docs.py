"""/docs: Swagger UI from the package's static files (no CDN, no inline script); /favicon.ico."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse

from app.web.headers import CONTENT_SECURITY_POLICY
from app.web.rendering import STATIC

SWAGGER_UI = STATIC / "vendor" / "swagger-ui"
FAVICON = STATIC / "favicon.svg"

router = APIRouter(include_in_schema=False)

# Swagger UI's React components set style attributes; scripts stay 'self' only
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{openapi_url}" data-oauth2-redirect-url="/docs/oauth2-redirect"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site's icon where browsers and other clients look for it without a page's link."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API documentation."""
    app = request.app
    html = PAGE.format(title=app.title, openapi_url=app.openapi_url)
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_POLICY})


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    """Where the documentation's OAuth2 sign-in returns to."""
    html = (SWAGGER_UI / "oauth2-redirect.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_POLICY})

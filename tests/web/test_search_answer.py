"""The search page says what the JSON API says: the answer sentence and the closest fit
outside the region asked for, in the page's language, in Chromium against a real server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app.organizations.derived import size_class
from app.web.router import SIZE_CLASSES
from tests.web.conftest import LiveServer, axe_violations

DEMO_MEMBER = "demo-member@koopmatch.example"
PASSWORD = "koopmatch-demo"
# the README's example: nobody in southern Germany offers OPC UA, IoTrix in Vienna does
SEARCH = "wir suchen jemanden für OPC-UA-Anbindung in Süddeutschland"
TEXT = {
    "de": {
        "email": "E-Mail",
        "password": "Passwort",
        "search": "Suche",
        "what": "Was suchen Sie?",
        "answer": "Antwort: Kein Unternehmen im gesuchten Gebiet bietet das an; am nächsten "
        "kommt außerhalb IoTrix GmbH, Wien.",
        "outside": "Am nächsten außerhalb des gesuchten Gebiets",
    },
    "en": {
        "email": "E-mail",
        "password": "Password",
        "search": "Search",
        "what": "What are you looking for?",
        "answer": "Answer: No firm in the region you asked for offers this; the closest fit "
        "outside it is IoTrix GmbH, Wien.",
        "outside": "Closest fit outside the region you asked for",
    },
}


def _api_search(page: Any, server: LiveServer, lang: str) -> dict[str, Any]:
    """The same search through the JSON API, as the same member."""
    token = page.request.post(
        server.url + "/api/v1/auth/token",
        data=json.dumps({"email": DEMO_MEMBER, "password": PASSWORD}),
        headers={"content-type": "application/json"},
    ).json()["access_token"]
    response = page.request.post(
        server.url + "/api/v1/matches/search",
        data=json.dumps({"text": SEARCH, "limit": 10, "lang": lang}),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert response.status == 200
    return dict(response.json())


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_search_page_answers_the_readme_example_honestly(
    live_server: LiveServer, browser: Any, lang: str
) -> None:
    t = TEXT[lang]
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server.url + "/")
    page.get_by_label(t["email"]).fill(DEMO_MEMBER)
    page.get_by_label(t["password"]).fill(PASSWORD)
    page.get_by_label(t["password"]).press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.get_by_role("link", name=t["search"], exact=True).click()
    page.get_by_label(t["what"]).fill(SEARCH)
    page.get_by_label(t["what"]).press("Enter")
    answer = page.locator("#search-results p.answer")
    answer.wait_for()
    assert answer.inner_text() == t["answer"]
    outside = page.get_by_role("region", name=t["outside"])
    assert outside.get_by_role("heading", level=3).all_inner_texts() == ["IoTrix GmbH"]
    # every result in the region is marked weak
    results = page.locator("#search-results > ol.matches > li")
    assert results.count() == 10
    assert page.locator("#search-results > ol.matches > li article.weak").count() == 10
    assert axe_violations(page) == []
    assert csp_errors == []

    api = _api_search(page, live_server, lang)
    assert "Antwort: " + api["answer"] == t["answer"] or "Answer: " + api["answer"] == t["answer"]
    assert [m["organization"]["name"] for m in api["closest_outside"]] == ["IoTrix GmbH"]
    assert api["weak_count"] == 10
    context.close()


def test_the_search_filters_size_classes_are_the_policys() -> None:
    """The search page's head-count range of each size class is the class in
    app.organizations.derived: its ends fall in it, the next head count does not."""
    assert list(SIZE_CLASSES) == ["micro", "small", "medium", "large"]
    for name, (low, high) in SIZE_CLASSES.items():
        assert size_class(low) == name
        assert low == 0 or size_class(low - 1) != name
        if high is not None:
            assert size_class(high) == name
            assert size_class(high + 1) != name

"""Pages in-process: what reaches the browser, the security headers, sessions and forms."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cooperation import service as cooperation_service
from app.cooperation.schemas import RequestCreate
from app.models.user import Role
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationCreate
from app.web.headers import CONTENT_SECURITY_POLICY
from app.web.i18n import Formatter
from app.web.session import SESSION_COOKIE
from tests.app.conftest import Account, AccountFactory

SECRETS = {
    "name": "Geheimwerk Hidden GmbH",
    "external_id": "SECRET-EXT-42",
    "contact_name": "Hedwig Heimlich",
    "contact_email": "hedwig@geheimwerk.example",
    "contact_phone": "+49 711 999888",
    "website": "https://geheimwerk.example",
    "city": "Geheimstadt",
    "postal_code": "70599",
    "description": "Unsere geheime Fertigung für Telematikmodule",
}
ALL_PARTNERS = {
    group: "partners"
    for group in (
        "name",
        "website",
        "contacts",
        "employees",
        "address",
        "description",
        "relationships",
        "founded",
    )
}


def _organization(session: Session, encoder, **fields) -> int:  # type: ignore[no-untyped-def]
    org = organization_service.create_organization(
        session, data=OrganizationCreate.model_validate(fields), encoder=encoder
    )
    session.commit()
    return org.id


@pytest.fixture
def pair(db_session: Session, encoder) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A sensor maker that needs LTE-M modules, and a hidden maker of them."""
    own = _organization(
        db_session,
        encoder,
        name="Offene Sensorik GmbH",
        country="DE",
        postal_code="76131",
        city="Karlsruhe",
        contact_name="Olga Offen",
        contact_email="olga@offen.example",
        competences=[
            {"kind": "core", "label": "Schwingungssensorik"},
            {"kind": "complementary", "label": "LTE-M-Funkmodule und Telematikmodule"},
        ],
        cooperation_interests=["product_development"],
    )
    hidden = _organization(
        db_session,
        encoder,
        **SECRETS,
        country="DE",
        latitude=48.7311,
        longitude=9.1377,
        employees=123,
        founded=1999,
        nace_code="26.30",
        competences=[
            {"kind": "core", "label": "LTE-M-Funkmodule und Telematikmodule"},
            {"kind": "complementary", "label": "Schwingungssensorik"},
        ],
        cooperation_interests=["product_development"],
        disclosure=ALL_PARTNERS,
    )
    return own, hidden


def _browser(app: FastAPI, account: Account) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, account.token)
    return client


def _absent(html: str) -> list[str]:
    return [key for key, value in SECRETS.items() if value in html]


def test_teasers_carry_no_hidden_field_in_the_html(
    app: FastAPI,
    make_account: AccountFactory,
    pair: tuple[int, int],
    db_session: Session,
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    own, hidden = pair
    member = make_account(Role.member, own)
    partner = make_account(Role.member, hidden)
    with _browser(app, member) as browser:
        pages = {
            "partners": browser.get("/partners"),
            "search": browser.get("/search", params={"q": "LTE-M-Funkmodule Telematikmodule"}),
            "request form": browser.get(f"/requests/new?to={hidden}"),
        }
        for name, page in pages.items():
            assert page.status_code == 200, name
            assert f'href="/requests/new?to={hidden}"' in page.text or name == "request form"
            assert _absent(page.text) == [], name
        # a request reveals the sender's name to the addressee, not the addressee's to it
        cooperation_service.create_request(
            db_session,
            user=member.user,
            data=RequestCreate(to_organization_id=hidden, type="product_development"),
            cache=app.state.match_index,
            encoder=encoder,
        )
        db_session.commit()
        requests = browser.get("/requests")
        assert requests.status_code == 200
        assert _absent(requests.text) == []
        # once the other side said yes, the same pages name it and show its contacts
        request = cooperation_service.list_requests(
            db_session,
            user=partner.user,
            organization_id=None,
            direction="received",
            status="pending",
            type_=None,
            outcome=None,
            limit=5,
            offset=0,
        )[0][0]
        cooperation_service.answer_request(
            db_session, request=request, action="accept", user=partner.user
        )
        db_session.commit()
        requests = browser.get("/requests")
        assert _absent(requests.text) == [
            "name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "website",
        ]


def test_every_response_has_the_security_headers(
    app: FastAPI, make_account: AccountFactory, pair: tuple[int, int]
) -> None:
    member = make_account(Role.member, pair[0])
    with _browser(app, member) as browser:
        for path in (
            "/login",
            "/dashboard",
            "/profile",
            "/static/app.css",
            "/api/v1/auth/me",
            "/nowhere",
        ):
            response = browser.get(path, headers={"accept": "text/html"})
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        docs = browser.get("/docs")
        assert docs.status_code == 200
        assert "script-src 'self';" in docs.headers["content-security-policy"]
        assert 'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"' in docs.text
        assert browser.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
        assert browser.get("/static/vendor/htmx.min.js").status_code == 200
    # no page has an inline script or style, so the policy needs neither
    html = browser.get("/profile").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " style=" not in html and "<style" not in html


def test_sign_in_sets_a_strict_session_cookie_and_needs_the_form_token(
    app: FastAPI, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.auth import service as auth_service
    from app.auth.schemas import UserCreate
    from app.config import get_settings

    auth_service.create_user(
        db_session,
        data=UserCreate(
            email="carla@example.de", name="Carla", role=Role.curator, password="Zebra-Lampe-42"
        ),
    )
    db_session.commit()
    with TestClient(app, raise_server_exceptions=False) as browser:
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text).group(1)  # type: ignore[union-attr]
        fields = {"email": "carla@example.de", "password": "Zebra-Lampe-42"}
        refused = browser.post("/login", data=fields, follow_redirects=False)
        assert refused.status_code == 403
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
        forged = browser.post(
            "/login", data={**fields, "csrf_token": "0" * 64}, follow_redirects=False
        )
        assert forged.status_code == 403
        monkeypatch.setattr(get_settings(), "environment", "production")
        signed_in = browser.post(
            "/login", data={**fields, "csrf_token": token}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/dashboard"
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=kmt_")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
        monkeypatch.setattr(get_settings(), "environment", "development")
        # a staff account has no member pages: a clear 403 page, in the browser's language
        browser.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
        page = browser.get("/partners", headers={"accept-language": "de"})
        assert page.status_code == 403
        assert "<h1>Nicht erlaubt</h1>" in page.text
        # a form without the session's token is refused, with the session intact
        out = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 403
        assert browser.get("/dashboard").status_code == 200
        session_token = re.search(
            r'name="csrf_token" value="([0-9a-f]{64})"', browser.get("/dashboard").text
        ).group(1)  # type: ignore[union-attr]
        out = browser.post("/logout", data={"csrf_token": session_token}, follow_redirects=False)
        assert out.status_code == 303
        assert (
            browser.get("/dashboard", follow_redirects=False).headers["location"]
            == "/login?next=%2Fdashboard"
        )


def test_a_stale_session_cookie_does_not_spoil_the_sign_in_form(
    app: FastAPI, db_session: Session
) -> None:
    from app.auth import service as auth_service
    from app.auth.schemas import UserCreate

    auth_service.create_user(
        db_session,
        data=UserCreate(
            email="dora@example.de", name="Dora", role=Role.curator, password="Zebra-Lampe-42"
        ),
    )
    db_session.commit()
    with TestClient(app, raise_server_exceptions=False) as browser:
        browser.cookies.set(SESSION_COOKIE, "kmt_expired-or-revoked")
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text).group(1)  # type: ignore[union-attr]
        signed_in = browser.post(
            "/login",
            data={"email": "dora@example.de", "password": "Zebra-Lampe-42", "csrf_token": token},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/dashboard"


def test_language_from_accept_language_and_the_switch(app: FastAPI) -> None:
    with TestClient(app) as browser:
        german = browser.get("/login", headers={"accept-language": "de-CH, en;q=0.5"})
        assert '<html lang="de">' in german.text and "<h1>Anmelden</h1>" in german.text
        english = browser.get("/login", headers={"accept-language": "fr, en-GB;q=0.8, de;q=0.7"})
        assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
        switched = browser.get("/lang/de?next=/login", follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/login"
        browser.cookies.set("km_lang", "de")
        assert "<h1>Anmelden</h1>" in browser.get("/login", headers={"accept-language": "en"}).text
        # the switch only leads back to this site
        assert (
            browser.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"]
            == "/"
        )


def test_unknown_pages_are_a_page_for_browsers_and_json_for_the_api(app: FastAPI) -> None:
    with TestClient(app) as client:
        page = client.get("/no/such/page", headers={"accept": "text/html", "accept-language": "en"})
        assert page.status_code == 404
        assert "<h1>Not found</h1>" in page.text
        api = client.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
        assert api.status_code == 404
        assert api.headers["content-type"] == "application/problem+json"


def test_my_data_exports_and_erases(
    app: FastAPI, make_account: AccountFactory, pair: tuple[int, int], db_session: Session
) -> None:
    from app.models import Organization
    from app.models.user import User

    own, _hidden = pair
    member = make_account(Role.member, own)
    with _browser(app, member) as browser:
        export = browser.get("/my-data/export")
        assert export.status_code == 200
        assert export.headers["content-disposition"] == (
            f'attachment; filename="koopmatch-organization-{own}.json"'
        )
        assert export.json()["organization"]["contact_email"] == "olga@offen.example"
        page = browser.get("/my-data")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
        unconfirmed = browser.post("/my-data/erase", data={"csrf_token": token})
        assert unconfirmed.status_code == 422
        mistyped = browser.post(
            "/my-data/erase", data={"csrf_token": token, "confirm": "Offene Sensorik"}
        )
        assert mistyped.status_code == 422
        db_session.expire_all()
        assert db_session.get(User, member.user.id) is not None
        erased = browser.post(
            "/my-data/erase",
            data={"csrf_token": token, "confirm": " offene  sensorik GmbH "},
            follow_redirects=False,
        )
        assert erased.status_code == 303
        assert erased.headers["location"] == "/login?erased=1"
    db_session.expire_all()
    organization = db_session.get(Organization, own)
    assert organization is not None
    assert (organization.name, organization.contact_name, organization.contact_email) == (
        "Offene Sensorik GmbH",
        None,
        None,
    )
    assert db_session.get(User, member.user.id) is None


def test_search_says_plainly_when_nothing_fits_and_filters_answer_as_partials(
    app: FastAPI, make_account: AccountFactory, pair: tuple[int, int]
) -> None:
    own, hidden = pair
    member = make_account(Role.member, own)
    with _browser(app, member) as browser:
        english = {"accept-language": "en"}
        nothing = browser.get(
            "/search", params={"q": "Weltraumbergbau Quantenkryptographie"}, headers=english
        )
        assert nothing.status_code == 200
        assert "No good match: no organisation fits your search." in nothing.text
        assert 'class="card match' not in nothing.text
        fits = browser.get("/search", params={"q": "LTE-M-Funkmodule"}, headers=english)
        assert "No good match" not in fits.text
        assert f'href="/requests/new?to={hidden}"' in fits.text
        # HTMX asks for the result list only; a bad filter is named in the page's language
        partial = browser.get(
            "/partners",
            params={"filtered": "1", "country": "Deutschland"},
            headers={"hx-request": "true", "accept-language": "de"},
        )
        assert partial.status_code == 200
        assert "<html" not in partial.text
        assert "Länder sind zweibuchstabige ISO-Codes wie DE, AT oder CH." in partial.text
        # leaving out competitors and filtering by a country the target is not in
        elsewhere = browser.get(
            "/partners", params={"filtered": "1", "country": "AT"}, headers=english
        )
        assert f"/requests/new?to={hidden}" not in elsewhere.text
        assert "No partners match these filters." in elsewhere.text
        home = browser.get("/partners", params={"filtered": "1", "country": "DE"}, headers=english)
        assert f'href="/requests/new?to={hidden}"' in home.text


def _places(html: str) -> list[str]:
    """The sentences that say which place names of a search were understood."""
    return [
        unescape(re.sub(r"\s+", " ", p))
        for p in re.findall(r'<p class="muted places">(.*?)</p>', html, re.S)
    ]


def test_search_names_the_places_it_understood_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory, pair: tuple[int, int]
) -> None:
    own, hidden = pair
    member = make_account(Role.member, own)
    with _browser(app, member) as browser:

        def search(text: str, lang: str) -> str:
            page = browser.get("/search", params={"q": text}, headers={"accept-language": lang})
            assert page.status_code == 200
            return page.text

        south = search("LTE-M-Funkmodule in Süddeutschland", "en")
        assert _places(south) == [
            "Place names in your text: Süddeutschland. "
            "Results within 250 km of that region's centre, in Germany."
        ]
        # the hidden maker near Stuttgart lies within the radius
        assert f'href="/requests/new?to={hidden}"' in south
        assert _places(search("LTE-M-Funkmodule in Süddeutschland", "de")) == [
            "Ortsangaben in Ihrem Text: Süddeutschland. "
            "Ergebnisse im Umkreis von 250 km um die Mitte dieser Region, in Deutschland."
        ]
        abroad = search("LTE-M-Funkmodule in Österreich oder der Schweiz", "de")
        assert _places(abroad) == [
            "Ortsangaben in Ihrem Text: Schweiz, Österreich. Ergebnisse in Österreich, Schweiz."
        ]
        assert _places(search("LTE-M-Funkmodule", "en")) == []


def test_the_dashboard_shows_matches_new_since_the_last_visit(
    app: FastAPI, make_account: AccountFactory, pair: tuple[int, int], db_session: Session
) -> None:
    import datetime as dt

    from app.auth import service as auth_service
    from app.models import Organization
    from app.models.base import utcnow
    from app.models.user import TokenKind

    own, hidden = pair
    member = make_account(Role.member, own)
    english = {"accept-language": "en"}
    with _browser(app, member) as browser:
        first = browser.get("/dashboard", headers=english)
        assert "Welcome! This is your first visit: here are your best matches." in first.text
        assert "Anonymous profile" in first.text
        # an earlier sign-in yesterday: the hidden organisation was created after it
        earlier, _ = auth_service.issue_token(
            db_session, user=member.user, kind=TokenKind.login, lifetime=dt.timedelta(hours=1)
        )
        earlier.created_at = utcnow() - dt.timedelta(days=1)
        db_session.commit()
        since = browser.get("/dashboard", headers=english)
        # in the page's language and Berlin's time, with the zone named
        when = Formatter("en").datetime(earlier.created_at)
        assert re.fullmatch(
            r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\u202f[AP]M \+0[12]00", when
        )
        assert f"Your last visit: {when}" in unescape(since.text)
        german = browser.get("/dashboard", headers={"accept-language": "de"})
        wann = Formatter("de").datetime(earlier.created_at)
        assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} MES?Z", wann)
        assert f"Ihr letzter Besuch: {wann}" in unescape(german.text)
        assert "Anonymous profile" in since.text
        # nothing changed since the last visit: nothing new
        target = db_session.get(Organization, hidden)
        assert target is not None
        target.created_at = target.modified_at = utcnow() - dt.timedelta(days=2)
        db_session.commit()
        quiet = browser.get("/dashboard", headers=english)
        assert "No new matches since your last visit." in quiet.text
        assert "Anonymous profile" not in quiet.text


def _candidate(session: Session, encoder, external_id: str, **fields) -> int:  # type: ignore[no-untyped-def]
    """A maker of the radio modules the seeker needs, public and named for members."""
    return _organization(
        session,
        encoder,
        external_id=external_id,
        name=f"Funk {external_id}",
        competences=[
            {"kind": "core", "label": "LTE-M-Funkmodule und Telematikmodule"},
            {"kind": "complementary", "label": "Gehäuse aus Kunststoff"},
        ],
        **fields,
    )


def test_every_filter_of_the_partners_page_ranks_as_the_api_does(
    app: FastAPI,
    make_account: AccountFactory,
    client_for,  # type: ignore[no-untyped-def]
    db_session: Session,
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    south = _candidate(
        db_session, encoder, "F-SOUTH", country="DE", latitude=48.78, longitude=9.18,
        nace_code="26.30", employees=30, cooperation_interests=["product_development"],
    )  # fmt: skip
    vienna = _candidate(
        db_session, encoder, "F-VIENNA", country="AT", latitude=48.21, longitude=16.37,
        nace_code="62.01", employees=120, cooperation_interests=["training"],
    )  # fmt: skip
    north = _candidate(
        db_session, encoder, "F-NORTH", country="DE", latitude=53.55, longitude=9.99,
        nace_code="26.30", employees=5, cooperation_interests=["product_development"],
    )  # fmt: skip
    known = _candidate(
        db_session, encoder, "F-KNOWN", country="DE", latitude=49.49, longitude=8.47,
        nace_code="27.90", employees=40, cooperation_interests=["data_sharing"],
    )  # fmt: skip
    # a sensor maker like the seeker itself: a competitor, shown only for coopetition
    rival = _organization(
        db_session, encoder, external_id="F-RIVAL", name="Sensorik Rivale GmbH", country="DE",
        latitude=49.0, longitude=8.4, nace_code="26.51", employees=60,
        competences=[
            {"kind": "core", "label": "Schwingungssensorik für Pumpen und Getriebe"},
            {"kind": "complementary", "label": "LTE-M-Funkmodule und Telematikmodule"},
        ],
        cooperation_interests=["product_development"],
    )  # fmt: skip
    own = _organization(
        db_session, encoder, name="Suchende Sensorik GmbH", country="DE", latitude=49.01,
        longitude=8.40, nace_code="26.51", employees=25,
        competences=[
            {"kind": "core", "label": "Schwingungssensorik für Pumpen und Getriebe"},
            {"kind": "complementary", "label": "LTE-M-Funkmodule und Telematikmodule"},
        ],
        relationships=[{"type": "supplier", "external_id": "F-KNOWN"}],
        cooperation_interests=["product_development"],
    )  # fmt: skip
    member = make_account(Role.member, own)
    api = client_for(member)
    every = {south, vienna, north, known, rival}
    # the page's query, and the API's for the same filter
    cases = {
        "none": ({}, {}),
        "country": ({"country": "AT"}, {"country": "AT"}),
        "distance": ({"max_distance_km": "150"}, {"max_distance_km": "150"}),
        "nace": ({"nace": "26.3"}, {"nace": "26.3"}),
        "size": ({"size": "small"}, {"min_employees": "10", "max_employees": "49"}),
        "interest": (
            {"interest": "training"},
            {"cooperation_interest": "training"},
        ),
        "no competitors": ({"include_competitors": None}, {"include_competitors": "false"}),
        "known partners too": ({"exclude_known": None}, {"exclude_known": "false"}),
    }
    shown: dict[str, set[int]] = {}
    with _browser(app, member) as browser:
        for name, (page_query, api_query) in cases.items():
            # a submitted form: the check boxes are on unless the case leaves one out
            query = {"filtered": "1", "include_competitors": "on", "exclude_known": "on"}
            query.update(page_query)
            query = {k: v for k, v in query.items() if v is not None}
            page = browser.get("/partners", params=query, headers={"accept-language": "en"})
            assert page.status_code == 200, name
            on_page = [int(i) for i in re.findall(r'href="/requests/new\?to=(\d+)"', page.text)]
            answer = api.get(f"/api/v1/organizations/{own}/matches", params=api_query)
            assert answer.status_code == 200, name
            assert on_page == [m["organization"]["id"] for m in answer.json()["items"]], name
            shown[name] = set(on_page)
    # each filter changes what is shown, in the way it says
    assert shown["none"] == every - {known}
    assert shown["country"] == {vienna}
    assert shown["distance"] == {south, rival}
    assert shown["nace"] == {south, north}
    assert shown["size"] == {south}
    assert shown["interest"] == {vienna}
    assert shown["no competitors"] == every - {known, rival}
    assert shown["known partners too"] == every


def test_the_dashboard_shows_completeness_and_open_requests_in_and_out(
    app: FastAPI,
    make_account: AccountFactory,
    pair: tuple[int, int],
    db_session: Session,
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    own, hidden = pair
    asking = _organization(
        db_session,
        encoder,
        name="Fragende Fräserei KG",
        country="AT",
        competences=[{"kind": "core", "label": "Fräsen"}],
    )
    member = make_account(Role.member, own)
    sender = make_account(Role.member, asking)
    for user, target in ((member.user, hidden), (sender.user, own)):
        cooperation_service.create_request(
            db_session,
            user=user,
            data=RequestCreate(to_organization_id=target, type="product_development"),
            cache=app.state.match_index,
            encoder=encoder,
        )
    db_session.commit()
    with _browser(app, member) as browser:
        page = browser.get("/dashboard", headers={"accept-language": "en"})
    assert page.status_code == 200
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))
    # 5 of the 11 checks: place, contact e-mail, a core and a complementary competence, interests
    assert re.search(r'<meter id="completeness"[^>]* value="0\.4545', page.text)
    assert "Profile completeness 45%" in text
    assert re.findall(
        r"(done|missing): ([A-Z][^:]*?) (?=done:|missing:|Edit the profile)", text
    ) == [
        ("missing", "A description of at least 80 characters"),
        ("missing", "Industry (NACE code)"),
        ("done", "Country and postal code"),
        ("missing", "Coordinates (for distance filters)"),
        ("missing", "Number of employees"),
        ("missing", "Website"),
        ("done", "A contact e-mail address"),
        ("done", "At least one core competence"),
        ("done", "At least one complementary competence (a need)"),
        ("done", "Kinds of cooperation you are interested in"),
        ("missing", "Known customers, suppliers or partners"),
    ]
    # in: the asking firm's name (a request names its sender); out: the addressee unnamed
    assert "1 request waits for your answer. Fragende Fräserei KG: Product development" in text
    assert (
        "1 request you sent is still open. An organisation not yet named to you "
        "(Germany, postcode area 7, medium (50 to 249 employees)): Product development"
    ) in text
    assert _absent(page.text) == []


def test_regions_are_named_in_the_pages_language(
    app: FastAPI,
    make_account: AccountFactory,
    pair: tuple[int, int],
) -> None:
    own, _hidden = pair
    member = make_account(Role.member, own)
    with _browser(app, member) as browser:
        german = browser.get("/partners", headers={"accept-language": "de"})
        english = browser.get("/partners", headers={"accept-language": "en"})
    # the hidden maker's address is for partners: its card names the region (postcode 70599)
    assert german.status_code == english.status_code == 200
    assert re.findall(r"(Deutschland, PLZ-Bereich \d|DE-\d)", german.text) == [
        "Deutschland, PLZ-Bereich 7"
    ]
    assert re.findall(r"(Germany, postcode area \d|DE-\d)", english.text) == [
        "Germany, postcode area 7"
    ]
    assert [Formatter(lang).region(code) for lang in ("de", "en") for code in ("AT-1", "FR")] == [
        "Österreich, PLZ-Bereich 1",
        "Frankreich",
        "Austria, postcode area 1",
        "France",
    ]

"""Refitting the ranking (second stage or weights) from the installation's outcomes, through the
admin route."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.embeddings import embed_organizations
from app.matches.index import IndexCache
from app.matches.learning import outcome_labels, reranker_rows
from app.matches.outcomes import outcome_steps
from app.matches.service import fitted_index
from app.models import Competence, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from app.session_hooks.index_changes import changes_since, current_version
from matching.encoders import Encoder
from matching.rerank import FEATURES
from matching.weights import Weights
from tests.app.conftest import AccountFactory, ClientFactory

URL = "/api/v1/admin/ranking"
SMALL = {"min_positives": 10, "min_queries": 8}
WEIGHTS = {**SMALL, "stage": "weights"}
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def org(name: str, label: str, interests: list[str], visibility: str = "public") -> Organization:
    o = Organization(
        name=name, country="DE", visibility=visibility, cooperation_interests=interests
    )
    o.competences = [Competence(kind="core", label=label)]
    o.relationships = []
    return o


@pytest.fixture
def installation(db_session: Session, encoder: Encoder) -> dict[str, list[int]]:
    """12 sensor firms (private: they ask, nobody finds them) whose requests to the two furniture
    makers that share their interest in training were accepted; they never asked the 8 sensor
    firms that the engine suggests them first (text alike)."""
    asking = [
        org(f"Sensor {i}", "Drucksensoren und Messtechnik", ["training"], "private")
        for i in range(12)
    ]
    alike = [org(f"Mess {i}", "Drucksensoren Messtechnik Kalibrierung", []) for i in range(8)]
    chosen = [org(f"Holz {i}", "Möbelbau aus Massivholz", ["training"]) for i in range(2)]
    everyone = asking + alike + chosen
    db_session.add_all(everyone)
    embed_organizations(everyone, encoder)
    db_session.flush()
    for i, a in enumerate(asking):
        for k, b in enumerate(chosen):
            db_session.add(
                CooperationRequest(
                    from_organization_id=a.id,
                    to_organization_id=b.id,
                    type="training",
                    status="accepted",
                    created_at=T0,
                    responded_at=T0 + dt.timedelta(days=i, hours=k),
                )
            )
    db_session.commit()
    return {
        "asking": [o.id for o in asking],
        "alike": [o.id for o in alike],
        "chosen": [o.id for o in chosen],
    }


def test_outcomes_become_labelled_pairs(
    db_session: Session, installation: dict[str, list[int]]
) -> None:
    a, c = installation["asking"], installation["chosen"]
    declined = CooperationRequest(
        from_organization_id=a[0],
        to_organization_id=installation["alike"][0],
        type="training",
        status="declined",
        created_at=T0,
        responded_at=T0 + dt.timedelta(days=30),
    )
    # the first accepted request (ids are not reset between tests on PostgreSQL)
    no_fit = db_session.scalars(
        select(CooperationRequest).where(
            CooperationRequest.from_organization_id == a[0],
            CooperationRequest.to_organization_id == c[0],
        )
    ).one()
    no_fit.outcome, no_fit.outcome_at = "no_fit", T0 + dt.timedelta(days=40)
    db_session.add(declined)
    db_session.commit()
    labels = outcome_labels(db_session)
    assert len(labels) == 26  # 24 answers, 1 decline, 1 outcome
    assert labels[0] == (a[0], c[0], 1)
    assert labels[-2:] == [(a[0], installation["alike"][0], 0), (a[0], c[0], 0)]


def test_a_better_fit_is_adopted_and_used_by_every_new_index(
    client: TestClient, db_session: Session, encoder: Encoder, installation: dict[str, list[int]]
) -> None:
    assert client.get(URL).json()["current"] is None
    before = current_version(db_session)
    r = client.post(f"{URL}/refit", json=WEIGHTS)
    assert r.status_code == 200, r.text
    fit = r.json()
    assert fit["adopted"] is True
    assert (fit["pairs"], fit["positives"], fit["queries"], fit["holdout_queries"]) == (
        12 * (2 + 8),  # each asking firm: 2 accepted, and the 8 other suggestions
        24,
        12,
        4,
    )
    assert fit["holdout_fitted"] == pytest.approx(1.0)
    assert fit["holdout_base"] < 0.5
    assert fit["weights"] == fit["candidate_weights"]
    learned = fit["weights"]
    # the shared interest tells the chosen apart, the text similarity misleads
    assert learned["shared_interests"] > Weights().shared_interests
    # every share of the fit ranks the inner validation queries perfectly: the smallest
    # step from the defaults is taken (a quarter of the fit, whose text weight is 0)
    assert learned["profile_similarity"] == pytest.approx(0.75 * Weights().profile_similarity)
    # what the outcomes cannot say about keeps its value (mutual: no side states needs)
    assert learned["mutual"] == Weights().mutual
    # every process fits its index again: "anything changed"
    assert current_version(db_session) == before + 1
    assert changes_since(db_session, before, before + 1) == {None}
    shown = client.get(URL).json()
    assert shown["current"]["id"] == fit["id"]
    assert shown["weights"] == fit["weights"]
    assert shown["defaults"] == Weights().components()
    index = IndexCache().get(db_session, encoder.name)
    assert index.matcher.weights_.components() == fit["weights"]

    # the same outcomes again: the fit equals the weights in use, so nothing is adopted
    again = client.post(f"{URL}/refit", json=WEIGHTS).json()
    assert again["adopted"] is False
    assert again["weights"] is None
    assert again["holdout_fitted"] == pytest.approx(again["holdout_base"])
    assert current_version(db_session) == before + 1
    shown = client.get(URL).json()
    assert shown["current"]["id"] == fit["id"]
    assert [f["id"] for f in shown["history"]] == [again["id"], fit["id"]]

    reset = client.post(f"{URL}/reset").json()
    assert (reset["kind"], reset["adopted"], reset["weights"]) == ("reset", True, None)
    assert client.get(URL).json()["weights"] == Weights().components()
    assert IndexCache().get(db_session, encoder.name).matcher.weights_ == Weights()


def test_too_little_data_keeps_the_defaults_and_dry_runs_store_nothing(
    client: TestClient, db_session: Session, second_stage: dict[str, list[int]]
) -> None:
    before = current_version(db_session)
    fit = client.post(f"{URL}/refit", json={}).json()
    assert fit["adopted"] is False
    assert fit["reason"] == (
        "too little data: 24 positive pairs (at least 50) in 12 usable lists (at least 20)"
    )
    dry = client.post(f"{URL}/refit", json={**SMALL, "dry_run": True}).json()
    assert (dry["id"], dry["adopted"]) == (None, True)
    shown = client.get(URL).json()
    assert shown["current"] is None
    assert [f["id"] for f in shown["history"]] == [fit["id"]]
    assert current_version(db_session) == before


def test_only_admins_refit(
    client_for: ClientFactory, make_account: AccountFactory, installation: dict[str, list[int]]
) -> None:
    member = client_for(make_account(Role.member, installation["asking"][0]))
    curator = client_for(make_account(Role.curator))
    for c in (member, curator):
        assert c.post(f"{URL}/refit", json=SMALL).status_code == 403
        assert c.get(URL).status_code == 403
    assert client_for(None).post(f"{URL}/reset").status_code == 401
    bad = client_for(make_account(Role.admin)).post(f"{URL}/refit", json={"min_gain": 2})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


@pytest.fixture
def second_stage(db_session: Session, encoder: Encoder) -> dict[str, list[int]]:
    """12 sensor firms (private) whose requests to two firms that measure for furniture makers
    were accepted; in the refit's lists the engine puts the 8 sensor firms that share their
    interest in training first and those two 9th and 10th, and the firms asked none of the 8."""
    asking = [
        org(f"Sensor {i}", "Drucksensoren und Messtechnik", ["training"], "private")
        for i in range(12)
    ]
    alike = [
        org(f"Mess {i}", "Drucksensoren Messtechnik Kalibrierung", ["training"]) for i in range(8)
    ]
    chosen = [
        org(f"Holz {i}", label, [])
        for i, label in enumerate(["Messtechnik im Möbelbau", "Möbelbau mit Messtechnik"])
    ]
    everyone = asking + alike + chosen
    db_session.add_all(everyone)
    embed_organizations(everyone, encoder)
    db_session.flush()
    for i, a in enumerate(asking):
        for k, b in enumerate(chosen):
            at = T0 + dt.timedelta(days=i, hours=k)
            db_session.add(
                CooperationRequest(
                    from_organization_id=a.id,
                    to_organization_id=b.id,
                    type="training",
                    status="accepted",
                    created_at=at,
                    responded_at=at,
                )
            )
    db_session.commit()
    return {
        "asking": [o.id for o in asking],
        "alike": [o.id for o in alike],
        "chosen": [o.id for o in chosen],
    }


def test_a_learned_second_stage_is_adopted_and_orders_the_match_list(
    client: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    db_session: Session,
    encoder: Encoder,
    second_stage: dict[str, list[int]],
) -> None:
    asking, chosen = second_stage["asking"], second_stage["chosen"]
    # an asking firm's own accepted requests are ties of its graph: the engine alone puts
    # the two it cooperates with first (`Weights.outcome_tie`)
    own = client_for(make_account(Role.member, asking[0]))
    mine = own.get(f"/api/v1/organizations/{asking[0]}/matches").json()["items"]
    assert set(m["organization"]["id"] for m in mine[:2]) == set(chosen)
    # a sensor firm without outcomes of its own
    newcomer = org("Sensor 12", "Drucksensoren und Messtechnik", ["training"], "private")
    db_session.add(newcomer)
    embed_organizations([newcomer], encoder)
    db_session.commit()
    member = client_for(make_account(Role.member, newcomer.id))
    matches = f"/api/v1/organizations/{newcomer.id}/matches"
    engine = [m["organization"]["id"] for m in member.get(matches).json()["items"]]
    # the engine puts the chosen two first: with how many organisations each had a
    # positive outcome (12, the most) counted in its activity, a count that names nobody
    # (`Filters.activity_ties`), ahead of the sensor firms alike in text
    assert set(engine[:2]) == set(chosen)
    assert set(engine[2:]) == set(second_stage["alike"])
    before = current_version(db_session)
    fit = client.post(f"{URL}/refit", json=SMALL).json()
    assert (fit["kind"], fit["adopted"], fit["reranker"], fit["weights"]) == (
        "reranker",
        True,
        True,
        None,
    )
    # one list of the 10 public firms per asking firm; the 4 with the newest answers held out
    assert (fit["pairs"], fit["positives"], fit["queries"], fit["holdout_queries"]) == (
        120,
        24,
        12,
        4,
    )
    # the chosen two stand 9th and 10th in the engine's order
    assert fit["holdout_base"] == pytest.approx(
        (1 / math.log2(10) + 1 / math.log2(11)) / (1 + 1 / math.log2(3))
    )
    assert fit["holdout_fitted"] == pytest.approx(1.0)
    # the weights stay: no index is fitted again; every process reads the stage per request
    assert current_version(db_session) == before
    shown = client.get(URL).json()
    assert (shown["reranker"], shown["current"]["id"]) == (True, fit["id"])
    assert shown["weights"] == Weights().components()
    # the learned stage keeps them first (its training lists count no outcomes in activity,
    # app.matches.learning: there the chosen two stand 9th and 10th)
    learned = [m["organization"]["id"] for m in member.get(matches).json()["items"]]
    assert set(learned[:2]) == set(chosen)
    assert sorted(learned) == sorted(engine)

    # the same outcomes again: not better than the stage in use, nothing changes
    again = client.post(f"{URL}/refit", json=SMALL).json()
    assert (again["adopted"], again["reranker"]) == (False, False)
    assert again["reason"].endswith("not better enough (needed a gain of 0.01)")
    assert client.get(URL).json()["current"]["id"] == fit["id"]

    client.post(f"{URL}/reset")
    assert client.get(URL).json()["reranker"] is False
    assert [m["organization"]["id"] for m in member.get(matches).json()["items"]] == engine


def test_the_outcome_features_of_a_list_come_from_the_steps_before_it(
    db_session: Session, encoder: Encoder, second_stage: dict[str, list[int]]
) -> None:
    index = fitted_index(db_session, IndexCache(), encoder)
    x, y, _, _, pairs = reranker_rows(index, outcome_steps(db_session))
    chosen = set(second_stage["chosen"])
    partners = x[:, FEATURES.index("outcome_partners")]
    own = x[:, FEATURES.index("outcome_pair_positive")]
    # the k-th asking firm's list counts the k firms that asked the chosen two before it, and
    # never its own requests (labelled 1 there)
    for k, asking in enumerate(second_stage["asking"]):
        rows = pairs[:, 0] == asking
        assert rows.sum() == 10
        for (_, b), value, mine, label in zip(
            pairs[rows], partners[rows], own[rows], y[rows], strict=True
        ):
            assert value == pytest.approx(math.log1p(k) if b in chosen else 0.0)
            assert (mine, label) == (0.0, int(b in chosen))

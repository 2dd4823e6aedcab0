from __future__ import annotations

from fastapi.testclient import TestClient

from app.taxonomy.nace import nace_entries, normalize_nace_code

URL = "/api/v1/taxonomy/nace"


def test_table_holds_every_section_division_group_and_class(client: TestClient) -> None:
    counts = {
        level: client.get(URL, params={"level": level, "limit": 1}).json()["total"]
        for level in (1, 2, 3, 4)
    }
    assert counts == {1: 22, 2: 87, 3: 287, 4: 651}
    assert sum(counts.values()) == len(nace_entries())


def test_sections_and_divisions_have_german_labels(client: TestClient) -> None:
    for level in (1, 2):
        items = client.get(URL, params={"level": level, "limit": 1000}).json()["items"]
        assert [i["code"] for i in items if not i["label_de"]] == []
    manufacturing = client.get(f"{URL}/C").json()
    assert manufacturing["label_en"] == "Manufacturing"
    assert manufacturing["label_de"] == "Verarbeitendes Gewerbe"


def test_code_detail_with_ancestors_and_children(client: TestClient) -> None:
    body = client.get(f"{URL}/26.5").json()
    assert body["level"] == 3
    assert [a["code"] for a in body["ancestors"]] == ["C", "26"]
    assert [c["code"] for c in body["children"]] == ["26.51", "26.52"]
    assert client.get(f"{URL}/c").json()["code"] == "C"
    missing = client.get(f"{URL}/99.99")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_search_by_text_and_parent(client: TestClient) -> None:
    children = client.get(URL, params={"parent": "62"}).json()["items"]
    assert [c["code"] for c in children] == ["62.1", "62.2", "62.9"]
    hits = client.get(URL, params={"q": "Kunststoff", "level": 3}).json()["items"]
    assert [h["code"] for h in hits] == []  # German labels exist only for sections and divisions
    hits = client.get(URL, params={"q": "plastic products", "level": 3}).json()["items"]
    assert [h["code"] for h in hits] == ["22.2"]
    assert client.get(URL, params={"level": 7}).status_code == 422


def test_normalize_nace_code() -> None:
    assert normalize_nace_code("C26.51") == "26.51"
    assert normalize_nace_code("2651") == "26.51"
    assert normalize_nace_code("26.5") == "26.5"
    assert normalize_nace_code(" 62 ") == "62"
    assert normalize_nace_code("c") == "C"
    assert normalize_nace_code("26.5.1") is None
    assert normalize_nace_code("abc") is None

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.organizations.schemas import (
    AlwaysShown,
    CityField,
    CooperationInterest,
    NameGroup,
    ShownTo,
)


class MatchedOrganization(ShownTo, CityField, NameGroup, AlwaysShown):
    """The matched organisation as the caller may see it: hidden attributes are null."""


class CompetenceRef(BaseModel):
    id: int | None
    label: str | None
    kind: str | None = None


class ReasonOut(BaseModel):
    direction: Literal[
        "they_cover_my_need",
        "i_cover_their_need",
        "shared_core",
        "similar_profile",
        "shared_need",
        "what_they_are",
    ] = Field(
        description="shared_need: they seek what the search asks for (search only); "
        "what_they_are: the title of their NACE code answers the search (search only)"
    )
    mine: CompetenceRef | None = Field(description="The asking side's competence or need")
    theirs: CompetenceRef | None = Field(description="The matched organisation's competence")
    similarity: float = Field(description="Cosine of the two texts (not calibrated)")
    covers: bool = Field(
        default=True,
        description="The similarity reaches the calibrated relevance floor: the competence "
        "covers the need; false: the two are only loosely related",
    )
    text: str = Field(
        description="The reason as a sentence in the caller's language (German or English); "
        "it says 'covers' only when the similarity reaches the calibrated relevance floor"
    )


class MatchOut(BaseModel):
    organization: MatchedOrganization
    score: float
    relation: Literal["complementary", "competitor"]
    components: dict[str, float] = Field(
        description="What the score is made of, each in [0, 1]: need_coverage (their core "
        "covers your needs), reciprocal_coverage (your core covers theirs), mutual (both "
        "directions together), profile_similarity, core_overlap (you offer the same), "
        "cross_industry, shared_interests, network (shared known partners), activity (their "
        "number of known relationships relative to the busiest organisation), coopetition "
        "(interests that suit cooperating competitors), proximity (how close they sit to you "
        "in the network of known relationships), known_partner (1 for a known partner), "
        "shared_need (search only: they seek the same)"
    )
    reasons: list[ReasonOut]
    shared_interests: list[str]
    cooperation_kinds: list[
        Literal["joint_purchasing_sales", "capacity_sharing", "joint_bids", "training_alliance"]
    ] = Field(
        default_factory=list,
        description="Competitors only: the kinds of coopetition that fit, those your shared "
        "cooperation interests ask for first",
    )
    weak: bool = Field(
        default=False,
        description="Typed search only: no typed need comes near this organisation's core "
        "competences (best cosine below the encoder's relevance floor) and none of its words "
        "occurs in their labels. Always false in an organisation's match list, whose ranking "
        "needs stated competences on both sides.",
    )


class MatchPage(BaseModel):
    items: list[MatchOut]
    encoder: str


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
NacePrefix = Annotated[str, StringConstraints(pattern=r"^\d{2}(\.\d{1,2})?$")]


class Origin(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


WHOLE_CLASSES = "Widened to whole size classes (0, 10, 50, 250) for callers other than hub staff"


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)
    ] = Field(
        description="What you are looking for, in German or English, e.g. "
        "'wir suchen jemanden für OPC-UA-Anbindung in Süddeutschland'"
    )
    limit: int = Field(default=10, ge=1, le=100)
    country: list[CountryCode] = Field(default_factory=list, max_length=50)
    nace: list[NacePrefix] = Field(default_factory=list, max_length=50)
    exclude_nace: list[NacePrefix] = Field(default_factory=list, max_length=50)
    min_employees: int | None = Field(default=None, ge=0, description=WHOLE_CLASSES)
    max_employees: int | None = Field(default=None, ge=0, description=WHOLE_CLASSES)
    cooperation_interest: list[CooperationInterest] = Field(default_factory=list)
    max_distance_km: float | None = Field(default=None, gt=0, le=20000)
    origin: Origin | None = None
    exclude: list[int] = Field(default_factory=list, max_length=1000)
    use_place_names: bool = Field(
        default=True,
        description="Turn place names in the text (countries, German states, 'Süddeutschland') "
        "into filters",
    )
    lang: Literal["de", "en"] | None = Field(
        default=None,
        description="Language of the reasons; default: Accept-Language, else the text's language",
    )
    exclude_known: bool = Field(
        default=False,
        description="Members: leave out your organisation's known customers, suppliers and "
        "partners (your own organisation is always left out)",
    )
    include_seekers: bool = Field(
        default=True,
        description="Also list organisations that seek the same (joint purchasing, training "
        "alliances, joint bids) in `seeking_the_same`",
    )
    hide_weak: bool = Field(
        default=False,
        description="Leave out weak matches (see MatchOut.weak); the ranking then fills the "
        "page with the next non-weak organisations",
    )


class SearchOut(MatchPage):
    need: str = Field(
        description="The need text that was matched, after place names were taken out"
    )
    applied_filters: dict[str, object]
    weak_count: int = Field(
        description="How many of the best `limit` matches are weak, whether or not hide_weak "
        "left them out"
    )
    seeking_the_same: list[MatchOut] = Field(
        default_factory=list,
        description="Organisations whose stated needs match the search: candidates for "
        "seeking together (joint purchasing, a training alliance, a joint bid)",
    )
    closest_outside: list[MatchOut] = Field(
        default_factory=list,
        description="Only when the text or the filters name a place (country, region, radius) "
        "and every result there is weak: up to three organisations outside that place that "
        "do offer it (not weak)",
    )
    answer: str = Field(
        description="The answer in one sentence in the caller's language: how many results "
        "offer what was asked, or that nobody (in the place asked for) does and, if someone "
        "outside it does, the closest fit"
    )
    relevance_floor: float = Field(
        description="The cosine a typed need must reach with a core competence to make a "
        "match non-weak (a property of the encoder)"
    )

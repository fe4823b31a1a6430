"""The checklist-v1 contract as data: lists, their item fields, vocabularies and identities.

Validation builds its schemas from this, fact mapping reads dates and kinds from it, and
fingerprints take the identity of an item from it, so the contract is stated exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from riskengine.vocabulary import CheckType

PERMIT_KINDS = ("land_use_certificate", "land_planning_permit", "project_planning_permit",
                "construction_permit", "presale_permit", "eia_approval")
OFFSITE_KINDS = ("landfill", "waste_station", "substation", "high_voltage_line", "highway",
                 "elevated_road", "railway", "factory", "cemetery", "gas_station", "sewage_plant",
                 "flight_path", "other")
ONSITE_KINDS = ("transformer_room", "substation", "garbage_point", "pump_room", "base_station",
                "ventilation_shaft", "commercial_noise", "other")
MATERIAL_KINDS = ("brochure", "advertisement", "sales_model", "sand_table", "rendering", "website",
                  "contract_drawing", "sales_script", "other")
AMENITY_MENTIONS = ("school", "kindergarten", "metro", "hospital", "park", "shopping", "other")
PROMISE_KINDS = ("shuttle_bus", "kindergarten", "school", "clubhouse", "commercial", "park",
                 "fit_out", "parking", "landscaping", "other")
PROMISE_CHANNELS = ("contract", "brochure", "advertisement", "website", "sales_staff")
PROMISE_STATUSES = ("planned", "in_progress", "fulfilled", "at_risk", "cancelled", "unknown")
ACCEPTANCE_KINDS = ("completion_filing", "fire", "planning", "civil_air_defence", "energy",
                    "environmental")
ACCEPTANCE_STATUSES = ("passed", "pending", "failed", "not_applied")
PHASES = ("civil", "installation", "pre_delivery")
DEFECT_KINDS = ("structural_crack", "crack", "hollow_plaster", "leak", "colour_difference",
                "cleanliness", "electrical", "component", "waterproofing", "other")


@dataclass(frozen=True)
class ItemField:
    """One field of a list item: its type, its closed vocabulary, whether it must be given."""

    type: CheckType | str  # CheckType, or "list" for a list of vocabulary values (of text
    # when `choices` is empty)
    choices: tuple[str, ...] = ()
    required: bool = False
    # Physical bounds: a distance is never negative, an area is more than zero.
    minimum: float | None = None
    above_minimum: bool = False  # the minimum itself is refused too
    past: bool = False  # a date that records what happened: never later than `as_of`


@dataclass(frozen=True)
class ListSpec:
    """A list of the checklist: item fields, the field naming its kind, the item's identity."""

    fields: dict[str, ItemField]
    identity: tuple[str, ...]
    kind_field: str | None = None
    nested: dict[str, ListSpec] = field(default_factory=dict)
    # Items of one identity are summed by the rules (complaints per topic), not duplicates.
    summed: bool = False
    parts: tuple[tuple[str, str], ...] = ()  # (part, whole): the part is never larger


def _f(type_: CheckType | str, choices: tuple[str, ...] = (), required: bool = False,
       **bounds: Any) -> ItemField:
    return ItemField(type_, choices, required, **bounds)


BOOL, INT, NUM, DATE, TEXT = (CheckType.BOOL, CheckType.INT, CheckType.NUMBER, CheckType.DATE,
                              CheckType.STRING)
DISTANCE: dict[str, Any] = {"minimum": 0}
AREA: dict[str, Any] = {"minimum": 0, "above_minimum": True}
PAST: dict[str, Any] = {"past": True}

DEFECTS = ListSpec(
    fields={"kind": _f(TEXT, DEFECT_KINDS, True), "found": _f(INT), "rectified": _f(INT)},
    identity=("kind",), kind_field="kind", summed=True, parts=(("rectified", "found"),))

LISTS: dict[str, ListSpec] = {
    "permits": ListSpec(
        fields={"kind": _f(TEXT, PERMIT_KINDS, True),
                "status": _f(TEXT, ("obtained", "pending", "not_applied")),
                "obtained_date": _f(DATE, **PAST), "expected_date": _f(DATE)},
        identity=("kind",), kind_field="kind"),
    "offsite_factors": ListSpec(
        fields={"kind": _f(TEXT, OFFSITE_KINDS, True), "name": _f(TEXT),
                "distance_m": _f(NUM, **DISTANCE),
                "planned": _f(BOOL), "disclosed_publicly": _f(BOOL),
                "in_contract_appendix": _f(BOOL)},
        identity=("kind", "name"), kind_field="kind"),
    "onsite_factors": ListSpec(
        fields={"kind": _f(TEXT, ONSITE_KINDS, True), "location": _f(TEXT),
                "adjacent_to_homes": _f(BOOL), "disclosed_publicly": _f(BOOL)},
        identity=("kind", "location"), kind_field="kind"),
    "sales_materials": ListSpec(
        fields={"id": _f(TEXT, (), True), "kind": _f(TEXT, MATERIAL_KINDS, True),
                "crm_reviewed": _f(BOOL), "changed_after_review": _f(BOOL),
                "matches_approved_plan": _f(BOOL), "promises_return": _f(BOOL),
                "mentions": _f("list", AMENITY_MENTIONS), "disclaimer": _f(BOOL)},
        identity=("id",), kind_field="kind"),
    "promises": ListSpec(
        fields={"id": _f(TEXT, (), True), "kind": _f(TEXT, PROMISE_KINDS, True),
                "channel": _f(TEXT, PROMISE_CHANNELS), "in_contract": _f(BOOL),
                "agreement_signed": _f(BOOL), "terms_disclosed": _f(BOOL), "funded": _f(BOOL),
                "status": _f(TEXT, PROMISE_STATUSES), "due_date": _f(DATE), "evidence": _f(TEXT),
                "approved": _f(BOOL), "description": _f(TEXT)},
        identity=("id",), kind_field="kind"),
    "planning_changes": ListSpec(
        fields={"id": _f(TEXT, (), True), "description": _f(TEXT), "major": _f(BOOL),
                "buyers_notified": _f(BOOL)},
        identity=("id",)),
    "acceptances": ListSpec(
        fields={"kind": _f(TEXT, ACCEPTANCE_KINDS, True), "status": _f(TEXT, ACCEPTANCE_STATUSES),
                "planned_date": _f(DATE), "passed_date": _f(DATE, **PAST)},
        identity=("kind",), kind_field="kind"),
    "area_survey": ListSpec(
        fields={"unit_type": _f(TEXT, (), True), "contract_area_m2": _f(NUM, **AREA),
                "measured_area_m2": _f(NUM, **AREA)},
        identity=("unit_type",)),
    "inspections": ListSpec(
        fields={"phase": _f(TEXT, PHASES, True), "done": _f(BOOL), "date": _f(DATE, **PAST),
                "units_inspected": _f(INT)},
        identity=("phase",), kind_field="phase", nested={"defects": DEFECTS}),
    "complaints": ListSpec(
        fields={"topic": _f(TEXT, (), True), "open_count": _f(INT)},
        identity=("topic",), summed=True),
}
# Items a document or a photo backs: `attachments` names uploaded evidence files by their ids.
EVIDENCE_LISTS = ("permits", "promises", "acceptances", "inspections")
for _name in EVIDENCE_LISTS:
    LISTS[_name].fields["attachments"] = _f("list")

# `checks` keys (declared by the rulesets) whose dates record the past: never after `as_of`.
PAST_CHECKS = frozenset({"offsite_survey_date"})

# Rules written `for_each: defects` see every defect of every inspection.
NESTED_LISTS: dict[str, tuple[str, str]] = {"defects": ("inspections", "defects")}

# The pattern as JSON Schema (the OpenAPI document) writes it. Python's `$` also matches before
# a final newline, so code checks use PROJECT_CODE, which ends at the end of the text.
PROJECT_CODE_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
PROJECT_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")

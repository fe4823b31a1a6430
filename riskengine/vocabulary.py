"""Closed vocabularies of the checklist contract and of findings."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    SALES = "sales"
    DELIVERY = "delivery"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Category(StrEnum):
    PERMITS = "permits"
    PLANNING = "planning"
    ENVIRONMENT = "environment"
    CONTRACT = "contract"
    ADVERTISING = "advertising"
    OFFSITE_HAZARDS = "offsite_hazards"
    ONSITE_HAZARDS = "onsite_hazards"
    AMENITIES = "amenities"
    PARKING = "parking"
    SIGNING = "signing"
    REGULATORY = "regulatory"
    PROMISES = "promises"
    QUALITY = "quality"
    OPEN_DAY = "open_day"
    READINESS = "readiness"
    MAINTENANCE = "maintenance"
    INFORMATION = "information"


class Owner(StrEnum):
    CRM = "crm"
    MARKETING = "marketing"
    DESIGN = "design"
    ENGINEERING = "engineering"
    COST = "cost"
    PERMITS = "permits"
    LEGAL = "legal"
    PROPERTY = "property"
    PROJECT_GM = "project_gm"


class FindingStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    WAIVED = "waived"
    # Resolved by its owner, then checked by someone else (issue 11): closed for good.
    VERIFIED = "verified"


# The statuses of a finding still being worked: open for the gate whatever else holds.
ACTIVE_STATUSES = frozenset({FindingStatus.OPEN, FindingStatus.IN_PROGRESS})


class GateDecision(StrEnum):
    FAIL = "fail"
    CONDITIONAL = "conditional"
    PASS = "pass"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


class CheckType(StrEnum):
    BOOL = "bool"
    INT = "int"
    NUMBER = "number"
    DATE = "date"
    STRING = "string"


MILESTONES = (
    "launch_date",
    "subscription_start",
    "contract_delivery_date",
    "forecast_completion_date",
    "forecast_handover_date",
    "open_day_date",
)

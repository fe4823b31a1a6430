"""Build an empty checklist skeleton for a stage: every field and `checks` key, with its meaning."""

from __future__ import annotations

import json
from typing import Any

from riskengine.checklist.contract import LISTS, ItemField, ListSpec
from riskengine.rules.catalog import Catalog
from riskengine.vocabulary import MILESTONES, Lang, Stage


def _describe(spec: ItemField) -> str:
    kind = ("list of" if spec.choices else "list of string") if spec.type == "list" \
        else str(spec.type)
    choices = f": {' | '.join(spec.choices)}" if spec.choices else ""
    return f"{kind}{choices}{' (required)' if spec.required else ''}"


def _item(spec: ListSpec) -> dict[str, str]:
    out = {name: _describe(f) for name, f in spec.fields.items()}
    for child, child_spec in spec.nested.items():
        inner = ", ".join(f"{k}: {_describe(f)}" for k, f in child_spec.fields.items())
        out[child] = f"list of {{{inner}}}"
    return out


def skeleton(catalog: Catalog, stage: Stage) -> dict[str, Any]:
    """Return a valid, empty checklist for `stage`: nulls to fill in, lists empty."""
    return {
        "project": {"code": "", "name": "", "city": ""},
        "stage": stage.value, "as_of": None, "submitted_by": None,
        "milestones": dict.fromkeys(MILESTONES),
        **{name: [] for name in LISTS},
        "checks": dict.fromkeys(sorted(catalog.checks(stage))),
    }


def render_yaml(catalog: Catalog, stage: Stage, lang: Lang) -> str:
    """Return the skeleton as commented YAML: what each field means and which values it takes."""
    label = catalog.policy.label
    out = [f"# riskengine checklist — {label('field', 'stage', lang)}: {stage.value}",
           f"project:  # {label('field', 'project', lang)}",
           '  code: ""', '  name: ""', '  city: ""',
           f"stage: {stage.value}  # {label('field', 'stage', lang)}",
           f"as_of: null  # YYYY-MM-DD — {label('field', 'as_of', lang)}",
           f"submitted_by: null  # {label('field', 'submitted_by', lang)}",
           f"milestones:  # {label('field', 'milestones', lang)}"]
    out += [f"  {m}: null  # YYYY-MM-DD — {label('field', m, lang)}" for m in MILESTONES]
    for name, spec in LISTS.items():
        out.append(f"{name}: []  # {label('field', name, lang)}")
        out += [f"  #   {field}: {meaning}" for field, meaning in _item(spec).items()]
    out.append(f"checks:  # {label('field', 'checks', lang)}")
    for key, check in sorted(catalog.checks(stage).items()):
        out.append(f"  {key}: null  # {check.type.value} — {check.description[lang]}")
    return "\n".join(out) + "\n"


def render_json(catalog: Catalog, stage: Stage) -> str:
    return json.dumps(skeleton(catalog, stage), ensure_ascii=False, indent=2)

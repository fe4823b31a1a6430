"""Rule governance on the pages: a what-if of draft rule files for reviewers, and a ruleset's
release log (every version judged with, and what changed)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, request

from api.auth import Role, require
from api.errors import NotFound
from api.state import service
from api.web.blueprint import lang, page, t
from riskengine.errors import RiskEngineError
from riskengine.output.dashboard import stage_label
from riskengine.output.reports import term
from riskengine.releases import release_log
from riskengine.store.latest import latest_checklists
from riskengine.store.promises import sales_mentions
from riskengine.store.releases import releases
from riskengine.whatif import (
    REFUSED,
    candidates_of,
    compare_loaded,
    load_draft,
    refuse_unforcing,
    write_draft,
)

# A browser sends a file's name without its folder: `sales.parking.yaml` is sales/parking.yaml.
_UPLOADED = re.compile(r"(sales|delivery)[./]([a-z][a-z0-9_]*(?:\.test)?\.yaml)\Z")
MAX_DRAFT_FILES = 60
# The governance pages' own words (the shared ones come from api.web.messages).
WORDS: dict[str, tuple[str, str]] = {
    "title": ("规则变更影响预演", "What-if of a rule change"),
    "help": ("上传规则草案文件（文件名如 sales.parking.yaml、delivery.quality.yaml、policy.yaml），"
             "系统用现行规则与草案分别评估各项目最新清单，列出变化；不保存任何结果。",
             "Upload draft rule files (named like sales.parking.yaml, delivery.quality.yaml, "
             "policy.yaml): every project's latest checklist is judged by the current rules and "
             "by the draft, and what changes is listed. Nothing is stored."),
    "files": ("规则草案文件", "Draft rule files"),
    "run": ("开始预演", "Run the what-if"),
    "summary": ("概要", "Summary"),
    "projects": ("评估的清单数", "Checklists judged"),
    "gate_changed": ("闸口结论改变", "Gates that change"),
    "worse": ("变严", "worse"), "better": ("变宽", "better"),
    "gates_moved": ("改变闸口的项目", "gates it moves"),
    "projects_changed": ("影响的清单", "checklists it changes"),
    "by_project": ("各项目的变化", "By project"),
    "nothing": ("草案不改变任何项目的结果", "The draft changes nothing"),
    "change_added": ("新增", "Added"), "change_removed": ("消除", "Removed"),
    "change_changed": ("变更", "Changed"),
    "not_utf8": ("文件须为 UTF-8 编码的 YAML", "the file must be UTF-8 YAML"),
    "releases": ("版本记录", "Release log"),
    "added": ("新增规则", "Rules added"), "removed": ("删除规则", "Rules removed"),
    "changed": ("修改规则", "Rule changed"), "parameter": ("参数", "Parameter"),
}


def w(key: str) -> str:
    zh, en = WORDS[key]
    return zh if lang().value == "zh" else en


def _draft_files() -> tuple[dict[str, str], dict[str, list[str]]]:
    files: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for upload in request.files.getlist("drafts")[:MAX_DRAFT_FILES]:
        name = upload.filename or ""
        found = _UPLOADED.match(name)
        target = f"{found.group(1)}/{found.group(2)}" if found else name
        try:
            files[target] = upload.read(512 * 1024 + 1).decode("utf-8")
        except UnicodeDecodeError:
            problems.setdefault(name, []).append(w("not_utf8"))
    if not files and not problems:
        problems["drafts"] = [t("choose_file")]
    return files, problems


def whatif() -> tuple[str, int]:
    """Reviewers upload draft rule files; the page shows what they would change."""
    principal = require(Role.REVIEWER)
    if request.method == "GET":
        return page("whatif.html", w=w, title=w("title"), report=None, problems={})
    files, problems = _draft_files()
    if problems:
        return page("whatif.html", 422, w=w, title=w("title"), report=None,
                    problems=problems)
    state = service()
    try:
        with tempfile.TemporaryDirectory(prefix="riskengine-draft-") as folder:
            root = write_draft(Path(current_app.config["RULESETS_DIR"]), files, Path(folder))
            draft = load_draft(root)
        with state.database.read() as db:
            refuse_unforcing(db, draft)
            stored = latest_checklists(db, principal.projects)
            candidates = candidates_of(stored, lambda pid: sales_mentions(db, pid))
    except RiskEngineError as error:
        message, details = error.in_lang(lang())
        return page("whatif.html", 422, w=w, title=w("title"), report=None,
                    problems=dict(details) or {"drafts": [message]})
    report = compare_loaded(state.submissions, draft, candidates)
    policy = state.assessor.catalog.policy
    return page("whatif.html", w=w, title=w("title"), report=report,
                summary=report.summary(), problems={},
                gate=lambda g: "—" if g == REFUSED else term("gate", g, lang()),
                stage=lambda s: stage_label(policy, s, lang()))


def release_page(ruleset_id: str) -> tuple[str, int]:
    """A ruleset's versions, oldest first, each with what changed."""
    state = service()
    with state.database.write() as db:
        state.submissions.keep_releases(db)
        found = releases(db, ruleset_id)
    if not found:
        raise NotFound(t("not_found"))
    return page("releases.html", w=w, title=f"{ruleset_id} · {w('releases')}",
                ruleset_id=ruleset_id, log=list(reversed(release_log(found))))


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/rules/whatif", view_func=whatif, methods=["GET", "POST"])
    bp.add_url_rule("/rulesets/<ruleset_id>/releases", view_func=release_page)

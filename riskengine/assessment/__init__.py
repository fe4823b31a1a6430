"""Judging one checklist: facts for the engine (`facts`), findings from its matches
(`findings`), the promise ledger across a project's checklists (`ledger`, `mentions`), the gate
(`gate`), and the step that wires them (`assessor`)."""

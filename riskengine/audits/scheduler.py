"""The in-process scheduler of the embedded deployment: a daemon thread running `run-due`.

Production may run it too (one per server process: runs stay exactly once whatever the number
of processes), or call `riskengine audits run-due` from cron or a Kubernetes CronJob instead.
"""

from __future__ import annotations

import logging
import os
import threading

from riskengine.audits.runner import Auditor, PassReport, run_due

log = logging.getLogger("riskengine.audits")


class Scheduler:
    """Runs a pass at start and then every `interval` seconds until stopped."""

    def __init__(self, auditor: Auditor, interval: float) -> None:
        self.auditor, self.interval = auditor, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # gunicorn forks its workers from a process that may run this thread. A fork in the
        # middle of a pass would copy locks held by it (the rule engine's, the connection
        # pool's) into the child for ever; so a fork waits for the pass to end.
        self._pass = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        os.register_at_fork(before=self._pass.acquire, after_in_parent=self._pass.release,
                            after_in_child=self._release_in_child)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="riskengine-audit-scheduler",
                                        daemon=True)
        self._thread.start()
        log.info("audit scheduler started, every %ss", self.interval)

    def _release_in_child(self) -> None:
        self._thread = None  # threads do not survive a fork
        self._pass.release()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def run_pass(self) -> PassReport | None:
        """Run one pass; a failing pass (the database down) is logged and tried next time."""
        with self._pass:
            try:
                report = run_due(self.auditor)
            except Exception:  # the loop must outlive a database outage
                log.exception("audit pass failed; retrying in %ss", self.interval)
                return None
        if report.runs or report.failed or any(report.deliveries.values()):
            log.info("audit pass: %d runs, %d failed, deliveries %s", len(report.runs),
                     len(report.failed), report.deliveries)
        return report

    def run_forever(self) -> None:
        """Run passes in this thread until `stop()` (the `riskengine audits loop` command)."""
        self._loop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_pass()
            self._stop.wait(self.interval)

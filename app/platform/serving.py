"""Settings of a serving process (web worker, `cecp worker`), applied once it has started.

A workflow action allocates many short-lived objects (ORM rows, SpiffWorkflow task trees);
with CPython's default generation-0 threshold (700) the collector runs dozens of times
per action and its older generations keep re-walking everything imported at start-up.
Freezing what exists after start-up and raising the threshold (`CECP_GC_THRESHOLD`, 0 keeps
CPython's defaults) cuts that work; reference cycles are still collected. Measured in
`benchmarks/bench_workflow.py` (both the tuned and the default process are reported).
"""

from __future__ import annotations

import gc

from flask import Flask


def prepare_process(app: Flask) -> None:
    threshold = int(app.config.get("CECP_GC_THRESHOLD") or 0)
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)

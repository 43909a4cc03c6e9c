"""The benchmark's sections, one file each, and the harness they share (``harness.py``, ``loops.py``).

Each section is ``run(settings, device) -> rows``: it measures on ``device`` as much as
``harness.Settings`` asks and returns its rows (``harness.compare`` or ``harness.figure``).
``scripts/bench.py`` runs them in order and writes the report; another runner can call any of them.
"""

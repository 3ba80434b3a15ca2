"""Benchmarks of iys-inbound against transport references and a naive baseline (issue #8).

Run with ``make bench``; see ``bench/__main__.py`` and ``BENCHMARKS.md``.
"""

"""Benchmarks run by ``make bench``; results go to ``bench/results.json`` and the README."""

"""The benchmark suite (make bench) and its smoke run, the regression guard (make bench-smoke)."""

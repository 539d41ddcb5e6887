"""The baselines: what the project is measured against (copied into task directories by bench/subjects.py)."""

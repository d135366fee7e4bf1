"""Rules: each reads analysis results and reports findings; one small file per rule."""

"""Autofix: rules describe fixes as plain specs; this package turns them into verified text edits."""

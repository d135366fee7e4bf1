"""Output formats. Each formatter turns sorted findings into text; register new ones in FORMATS."""

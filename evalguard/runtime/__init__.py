"""The runtime half: a tracer for real training runs and mode assertions.

Everything here imports torch; `import evalguard` and the static CLI never import this package
until one of its names is used (`evalguard/__init__.py` resolves them lazily).
"""

"""The benchmark of app.factory against factory_boy, model_bakery and Django: ``python -m benchmarks --help``.

Modules: ``__main__`` (the command line), ``databases`` (the benchmark's own databases, URL masking),
``variants`` (what is measured), ``measure`` (timing and statistics), ``report`` (tables, JSON, Markdown).
"""

"""The benchmark of app.factory against factory_boy, model_bakery and Django: ``python -m benchmarks --help``.

Modules: ``__main__`` (the command line), ``databases`` (the benchmark's own databases, URL masking),
``variants`` (what is measured), ``measure`` (timing and statistics), ``figures`` (how a figure is written),
``report`` (tables, JSON, Markdown); and one module per further section, each measuring and rendering
it: ``shortcut`` (the one-row create() shortcut), ``auth`` (auth users and password hashing), ``stalls``
(event-loop stalls). ``seeding`` (``python -m benchmarks.seeding``) times ``manage.py seed`` for
docs/seeding-figures.md.
"""

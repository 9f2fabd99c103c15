"""The benchmark of app.factory against plain factory_boy: ``python -m benchmarks --help``."""

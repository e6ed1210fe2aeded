"""The version of hipstats: its only source (``pyproject.toml`` reads it, ``hipstats.__version__``
and ``hipstats --version`` print it)."""

__version__ = "0.1.0"

"""Test ordering: tests marked ``slow`` (the study's CI run from a built wheel, minutes of
venv and install) are collected first, so that under ``pytest -n 2 --dist loadfile`` one
worker starts them while the other takes the rest of the suite."""


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable sort

"""Every public function documents Parameters, Returns and a runnable Example, and it runs."""

import doctest
import inspect

import matplotlib
import pytest

import hipstats

matplotlib.use("Agg")

PUBLIC_FUNCTIONS = [
    "load", "validate", "example", "simulate_cohort",
    "timepoint_corr", "rm_corr", "mixed_model", "mixed_anova", "paired_change", "ancova",
    "responders", "cross_lagged", "power_corr", "power_ttest", "meta_analysis",
    "effect_from_summary", "mmrm", "mmrm_frame", "primary_analysis", "rbmi",
    "missing_patterns", "dropout_by_visit", "mediation", "marginal_effect", "ordinal",
]


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_docstring_sections(name):
    doc = inspect.getdoc(getattr(hipstats, name)) or ""
    for section in ("Parameters", "Returns", "Examples"):
        assert f"\n{section}\n---" in doc, f"hipstats.{name} docstring lacks {section}"


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_docstring_example_runs(name):
    func = getattr(hipstats, name)
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(func, name, globs={"hipstats": hipstats})
    assert tests and tests[0].examples, f"hipstats.{name} has no doctest example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"hipstats.{name}: {result.failed} example(s) failed"

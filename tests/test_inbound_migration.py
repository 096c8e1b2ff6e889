"""Migration 0008 builds the inbound_messages table as alerts/schema.py describes."""

from __future__ import annotations

from alerts.schema import inbound_messages
from tests.web.test_migration import test_migrated_table_matches_the_schema as _matches


async def test_inbound_messages_migration_matches_the_schema(db_url):
    await _matches(db_url, inbound_messages)

"""Getting alerts issued through the API, as operators and approvers do."""

from __future__ import annotations

from typing import Any

from alerts.scenarios import SCENARIOS
from tests.helpers import eventually, json_ok


class Desk:
    """An operator and an approver at one Tocsin."""

    def __init__(self, tocsin: Any, operator: dict[str, str], approver: dict[str, str]) -> None:
        self.tocsin, self.operator, self.approver = tocsin, operator, approver

    @classmethod
    async def open(cls, tocsin: Any, suffix: str = "") -> "Desk":
        return cls(tocsin, await tocsin.user(f"olga{suffix}", "operator"), await tocsin.user(f"anar{suffix}", "approver"))

    async def draft(self, scenario: str = "earthquake", params: dict[str, Any] | None = None,
                    regions: list[str] | None = None, status: str = "Actual", **extra: Any) -> dict[str, Any]:
        body = {"scenario": scenario, "params": params if params is not None else SCENARIOS[scenario].example_params(),
                "status": status, "audience": {"regions": regions or ["AZ-SMI"]}, "channels": ["sms"],
                "expires_in_minutes": 120, **extra}
        return await json_ok(await self.tocsin.client.post("/api/v1/alerts", headers=self.operator, json=body), 201)

    async def issue(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Draft, submit and approve: the alert goes out."""
        alert = await self.draft(*args, **kwargs)
        client = self.tocsin.client
        await json_ok(await client.post(f"/api/v1/alerts/{alert['id']}/submit", headers=self.operator))
        approved = await json_ok(await client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=self.approver))
        if approved["send_at"] is None:
            await self.published(alert["id"])
        return approved

    async def published(self, alert_id: int) -> None:
        """Until its first round starts (a moment after approval) an alert is not yet public."""
        async def public() -> bool:
            return (await self.tocsin.client.get(f"/cap/{alert_id}.xml")).status == 200

        await eventually(public)

    async def cancel(self, alert_id: int) -> dict[str, Any]:
        return await json_ok(await self.tocsin.client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=self.operator))

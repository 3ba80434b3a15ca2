"""The İYS calls of the mirror that the pusher does not make: push registration (§2.8) and
reconciliation (§2.9). Each goes through IysClient.call (shared token, shared rate limit,
recorded in iys_attempt like every other call)."""

from __future__ import annotations

from typing import Any

from iys_push.client import Answer, IysClient


def _brand(iys_code: int, brand_code: int) -> str:
    return f"/sps/{iys_code}/brands/{brand_code}"


async def push_register(client: IysClient, iys_code: int, brand_code: int,
                        connections: list[dict[str, str]]) -> Answer:
    return await client.call("POST", _brand(iys_code, brand_code) + "/push/registration",
                             {"connection": connections}, endpoint="push_registration")


async def push_registrations(client: IysClient, iys_code: int, brand_code: int) -> Answer:
    return await client.call("GET", _brand(iys_code, brand_code) + "/push/registration",
                             endpoint="push_registration")


async def day_file(client: IysClient, iys_code: int, brand_code: int, day: str) -> Answer:
    """The day's movement file: 200 with the CSV text, or 204."""
    return await client.call("GET", _brand(iys_code, brand_code) + f"/changes/{day}/file",
                             endpoint="reconcile")


async def day_counts(client: IysClient, iys_code: int, brand_code: int, day: str,
                     recipient_type: str) -> Answer:
    return await client.call(
        "GET", _brand(iys_code, brand_code) + f"/changes/{day}/recipients/{recipient_type}",
        endpoint="reconcile")


async def agreement(client: IysClient, iys_code: int, brand_code: int, day: str) -> Answer:
    return await client.call("GET", _brand(iys_code, brand_code) + f"/agreements/{day}",
                             endpoint="reconcile")


async def put_agreement(client: IysClient, iys_code: int, brand_code: int,
                        day: str) -> Answer:
    body: dict[str, Any] = {"agreementStatus": True}
    return await client.call("PUT", _brand(iys_code, brand_code) + f"/agreements/{day}",
                             body, endpoint="reconcile")

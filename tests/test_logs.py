"""Logs never carry a full phone number or a secret, whatever the caller passes."""

from __future__ import annotations

import json

import pytest
import structlog

from inbound import logs


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    logs.configure("json", "info", cache=False)
    yield capsys
    structlog.reset_defaults()


def last_line(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().err.strip().splitlines()[-1])


def test_phone_numbers_are_masked_in_values_and_messages(captured) -> None:  # type: ignore[no-untyped-def]
    structlog.get_logger("t").info("got +905321234567 from 905551112233",
                                   sender="+905321234567", nested={"to": "905321234567"})
    line = last_line(captured)
    text = json.dumps(line)
    assert "5321234567" not in text and "5551112233" not in text
    assert line["sender"] == "+90532*****67"


def test_secret_keys_are_replaced(captured) -> None:  # type: ignore[no-untyped-def]
    structlog.get_logger("t").info("login", password="hunter2",
                                   headers={"Authorization": "Bearer abc"}, api_token="t0k")
    line = last_line(captured)
    assert line["password"] == "***" and line["api_token"] == "***"
    assert line["headers"]["Authorization"] == "***"
    assert "hunter2" not in json.dumps(line)


def test_short_codes_stay_readable(captured) -> None:  # type: ignore[no-untyped-def]
    structlog.get_logger("t").info("mo", number="4609")
    assert last_line(captured)["number"] == "4609"

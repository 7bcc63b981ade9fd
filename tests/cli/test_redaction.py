"""Secrets never printed: the values of --api-key / --password and key-shaped words."""

from __future__ import annotations

from mxgw.cli.redaction import Redactor


def test_secrets_from_a_command_line_are_redacted() -> None:
    redact = Redactor()
    redact.add_from_argv(["open-session", "--api-key=first-secret", "--password", "second",
                          "mxgw_dev_abcdefgh123", "--api-key"])
    redact.add(None)
    assert redact("first-secret second mxgw_dev_abcdefgh123 kept") == (
        "<redacted> <redacted> <redacted> kept")

"""Helpers for loading the live schema in-process, shared by the fuzz and documentation tests."""

from __future__ import annotations

from typing import Any

from drf_spectacular.settings import spectacular_settings

from exchange.api_common.schema import add_error_responses


def ensure_error_hook(monkeypatch: Any) -> None:
    """Until settings name the hook, add it for the test (drf-spectacular does not reload)."""
    hooks = list(spectacular_settings.POSTPROCESSING_HOOKS)
    if add_error_responses not in hooks:
        monkeypatch.setattr(
            spectacular_settings, "POSTPROCESSING_HOOKS", [*hooks, add_error_responses]
        )

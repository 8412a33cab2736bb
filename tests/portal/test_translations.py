"""The committed Chinese catalogue is complete and its compiled .mo matches the .po, so a fresh
clone shows Chinese without running compilemessages."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def _catalog(mo: Path) -> dict[object, object]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


@pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="gettext's msgfmt is installed by .ci/run"
)
def test_committed_mo_matches_po(tmp_path: Path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(compiled), str(LOCALE / "django.po")], check=True
    )
    assert _catalog(compiled) == _catalog(LOCALE / "django.mo"), (
        "locale/zh_Hans/LC_MESSAGES/django.mo is stale: run "
        "`manage.py compilemessages -l zh_Hans --ignore=.venv` and commit it"
    )


def test_every_message_is_translated() -> None:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = [e for e in text.split("\n\n") if "msgid " in e and 'msgid ""\nmsgstr ""\n"' not in e]
    untranslated = [
        e.split("msgid ", 1)[1].splitlines()[0]
        for e in entries
        if e.rstrip().endswith('msgstr ""') or "#, fuzzy" in e
    ]
    assert untranslated == []

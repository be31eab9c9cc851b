"""The catalogues: every message the code shows has a translation in each shipped language,
with the same placeholders; the Italian UI uses the seed's words verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from data import labels
from data.i18n import CATALOGUES, DEFAULT_LOCALE, LOCALES, catalogue_path, gettext, speaking

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
PLACEHOLDER = re.compile(r"\{(\w*)\}")

SEED_LABELS = {
    "Accounts receivable parameters": "Parametri contabilità clienti",
    "Customer approval": "Approvazione cliente",
    "Enable customer approvals": "Abilita approvazioni cliente",
    "Data entity behavior": "Comportamento entità di dati",
    "Allow changes without approval": "Consentire modifiche senza approvazione",
    "Reject changes": "Rifiuta modifiche",
    "Create change proposals": "Crea proposte di modifica",
    "Enable": "Abilita",
    "Accounts receivable workflows": "Flussi di lavoro contabilità clienti",
    "New": "Nuovo",
    "Proposed customer change workflow": "Flusso di lavoro della modifica del cliente proposta",
    "Proposed customer change workflow approval": (
        "Approvazione del flusso di lavoro per la modifica cliente proposta"
    ),
    "Proposed changes": "Modifiche proposte",
    "Discard": "Elimina",
    "Discard all changes": "Ignora tutte le modifiche",
    "OK": "OK",
    "Workflow": "Flusso di lavoro",
    "Submit": "Invia",
    "Approve": "Approva",
    "Changes pending approval": "Modifiche in attesa di approvazione",
    "Customer": "Cliente",
}
"""The seed's Italian words for its labels (SPEC.md, "Languages: the seed's Italian labels")."""


def code_messages() -> dict[str, str]:
    """Every message id in the app's code → where it is (the English of a plural: its
    singular)."""
    found: dict[str, str] = {}
    sources = [ROOT / "app.py"]
    for folder in ("data", "pages", "components", "api", "links"):
        sources += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    for path in sources:
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            key = message if isinstance(message, str) else tuple(message)
            found[key] = f"{path.relative_to(ROOT)}:{lineno}"
    return found


def shipped_languages() -> list[str]:
    return [code for code in LOCALES if code != DEFAULT_LOCALE]


@pytest.fixture(scope="module")
def messages() -> dict:
    return code_messages()


def catalogue(language: str):
    with catalogue_path(language).open("rb") as source:
        return read_po(source, locale=language)


def test_every_language_offered_ships_a_catalogue():
    assert shipped_languages() == ["it"]
    for language in shipped_languages():
        assert catalogue_path(language).is_file()
    assert sorted(p.name for p in CATALOGUES.iterdir() if p.is_dir()) == shipped_languages()


@pytest.mark.parametrize("language", shipped_languages())
def test_every_message_in_the_code_is_translated(language, messages):
    assert len(messages) > 500  # the extraction found the UI's messages
    translated = catalogue(language)
    untranslated = []
    for key, where in sorted(messages.items(), key=lambda item: str(item[0])):
        msgid = key if isinstance(key, str) else key[0]
        entry = translated.get(msgid)
        strings = [] if entry is None else (
            list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
        )
        if entry is None or entry.fuzzy or not strings or not all(strings):
            untranslated.append(f"{where}: {msgid!r}")
    assert not untranslated, (
        f"{len(untranslated)} messages have no {language} translation (run `make messages` and "
        "translate them):\n" + "\n".join(untranslated)
    )


@pytest.mark.parametrize("language", shipped_languages())
def test_a_catalogue_holds_only_messages_the_code_has(language, messages):
    ids = {key if isinstance(key, str) else key[0] for key in messages}
    translated = catalogue(language)
    stale = sorted(entry.id if isinstance(entry.id, str) else entry.id[0]
                   for entry in translated if entry.id) # fmt: skip
    assert [msgid for msgid in stale if msgid not in ids] == []
    assert not translated.obsolete


@pytest.mark.parametrize("language", shipped_languages())
def test_a_translation_keeps_its_placeholders(language):
    mismatched = []
    for entry in catalogue(language):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                mismatched.append((ids[0], text))
    assert mismatched == []


def test_the_italian_ui_uses_the_seeds_words():
    with speaking("it"):
        shown = {english: gettext(english) for english in SEED_LABELS}
        assert labels.PROPOSED_CHANGES == "Modifiche proposte"
        assert labels.DISCARD_ALL_CHANGES == "Ignora tutte le modifiche"
        assert labels.REQUEST_STATE_LABELS["pending"] == "Modifiche in attesa di approvazione"
        assert labels.DATA_ENTITY_BEHAVIOR_LABELS["propose"] == "Crea proposte di modifica"
    assert shown == SEED_LABELS
    assert labels.PROPOSED_CHANGES == "Proposed changes"  # and English outside


def test_plurals_follow_the_language():
    from data.i18n import ngettext

    with speaking("it"):
        assert ngettext("{count} step", "{count} steps", 1).format(count=1) == "1 passaggio"
        assert ngettext("{count} step", "{count} steps", 2).format(count=2) == "2 passaggi"
    assert ngettext("{count} step", "{count} steps", 2).format(count=2) == "2 steps"

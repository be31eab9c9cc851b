"""The UI's language: gettext catalogues read with Babel, one language per request.

Every text a person reads is an English message id wrapped in ``_()`` (or marked
with ``N_()`` where it is defined ahead of use, and translated with ``_()`` where it
is shown). The Italian catalogue, ``data/translations/it/LC_MESSAGES/messages.po``,
uses the seed's words where the seed names a label. A door into the domain (a web
request, a background job, the CLI) says which language it speaks with
``speaking(code)``; the services' error messages then come out in it too.

The catalogues are shipped as ``.po`` text and compiled in memory when first used,
so no build step stands between a checkout and a running app. ``make messages``
extracts the message ids from the code and merges them into every catalogue.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = {"en": "English", "it": "Italiano"}
"""The languages, each with its number format, users can choose ("en": 1,500.00;
"it": 1.500,00). A language is added with its catalogue and a line here."""
DEFAULT_LOCALE = "en"
CATALOGUES = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"

_language: ContextVar[str] = ContextVar("countersign_language", default=DEFAULT_LOCALE)


def locale_of(code: str | None) -> str:
    return code if code in LOCALES else DEFAULT_LOCALE


def catalogue_path(language: str) -> Path:
    return CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English is the message ids themselves)."""
    path = catalogue_path(language)
    if language == DEFAULT_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current_language() -> str:
    return _language.get()


def set_language(code: str | None) -> Token:
    """The language of what runs next in this context (a request), until
    ``reset_language`` with the token this returns."""
    return _language.set(locale_of(code))


def reset_language(token: Token) -> None:
    _language.reset(token)


@contextmanager
def speaking(code: str | None) -> Iterator[None]:
    token = _language.set(locale_of(code))
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translate where shown"
    """Mark a message for the catalogue where it is defined; ``_()`` translates it where it
    is shown."""
    return message


_ = gettext


class Labels(Mapping[str, str]):
    """A map from a code to its label's message id that reads in the current language."""

    def __init__(self, messages: dict[str, str]):
        self.messages = messages

    def __getitem__(self, key: str) -> str:
        return gettext(self.messages[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

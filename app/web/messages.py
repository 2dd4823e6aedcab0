"""A service's failure in the page's language: the one place pages turn an `AppError` (its
sentence, or the messages of its fields) into text.

The API keeps answering the English text (`AppError.detail`, `errors[...]["message"]`); a page
translates the template the service marked for the catalogue and fills in the same values.
User data among the values (names) is inserted as it is.
"""

from __future__ import annotations

from app.errors import AppError
from app.i18n import Formatter, Message, Number


def translate(message: Message | str | None, text: Formatter) -> str:
    """A message (a template and its values, or a fixed text) in the language of `text`; the
    English text where the catalogue has no translation."""
    if message is None:
        return ""
    if isinstance(message, Message):
        # a value that is itself a message (a status word) is translated too, a `Number` is
        # written as the page's language writes numbers; other values (names, line numbers,
        # codes) are inserted as they are
        values = {
            name: translate(value, text)
            if isinstance(value, Message)
            else text.number(int(value))
            if isinstance(value, Number)
            else value
            for name, value in message.values.items()
        }
        return text.gettext(message.template, **values)
    return text.gettext(message)


def page_message(exc: AppError, text: Formatter) -> str:
    """The error's sentence in the page's language."""
    return translate(exc.message, text)


def page_field_messages(exc: AppError, text: Formatter) -> dict[str, str]:
    """Field -> the message of that field in the page's language, the first per field; the
    error's sentence under "form" when it names no field."""
    out: dict[str, str] = {}
    for error in exc.errors or []:
        key = str(error.get("field", ""))
        name = key or "form"
        if name not in out:
            out[name] = translate(exc.field_messages.get(key, str(error.get("message", ""))), text)
    return out or {"form": page_message(exc, text)}

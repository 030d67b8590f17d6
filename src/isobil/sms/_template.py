"""Personalised message templates (hitaplı mesaj): ``"Sayın {ad} {soyad}, …"``.

A placeholder is ``{name}`` or ``{name|fallback}``; ``{{`` and ``}}`` are literal
braces. Field names are matched Turkish-insensitively (``{Şehir}`` is the field
``sehir``). A recipient missing a field that has no fallback cannot be rendered:
the literal placeholder is never sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from isobil.errors import TemplateError

__all__ = ["Template", "field_key"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"[a-z0-9_]+")
_KEY_TABLE = str.maketrans(
    {
        "İ": "i", "I": "i", "ı": "i", "ş": "s", "Ş": "s", "ğ": "g", "Ğ": "g",
        "ç": "c", "Ç": "c", "ö": "o", "Ö": "o", "ü": "u", "Ü": "u", " ": "_", "-": "_",
    }
)  # fmt: skip


def field_key(name: str) -> str:
    """The key a field is matched by: ``"Şehir"`` → ``"sehir"``, ``"Cep Tel"`` → ``"cep_tel"``."""
    return name.strip().translate(_KEY_TABLE).lower()


@attrs.frozen
class _Part:
    literal: str
    field: str | None = None
    fallback: str | None = None


def _parse(text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if match.group(1) is None:
            raise TemplateError(
                f"unbalanced {token!r} at character {match.start() + 1} of the template "
                "(write {{ or }} for a literal brace)"
            )
        name, bar, fallback = match.group(1).partition("|")
        key = field_key(name)
        if not _FIELD.fullmatch(key):
            raise TemplateError(
                f"invalid field name {name!r} at character {match.start() + 1}: use letters, "
                "digits and underscores, e.g. {ad} or {sehir|İstanbul}"
            )
        parts.append(_Part("".join(literal), key, fallback if bar else None))
        literal = []
    literal.append(text[position:])
    parts.append(_Part("".join(literal)))
    return tuple(parts)


@attrs.frozen
class Template:
    """A message text with fields, parsed once, rendered per recipient.

    ``fallbacks`` give values for fields a recipient lacks (an inline
    ``{ad|Müşterimiz}`` fallback wins over this mapping).

    >>> t = Template("Sayın {ad} {soyad}, {sehir|Türkiye} mağazamız açıldı.")
    >>> t.fields
    ('ad', 'soyad', 'sehir')
    >>> t.render({"ad": "Ayşe", "soyad": "Yılmaz"})
    'Sayın Ayşe Yılmaz, Türkiye mağazamız açıldı.'
    >>> t.missing({"ad": "Ayşe"})
    ('soyad',)
    """

    text: str
    fallbacks: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    _parts: tuple[_Part, ...] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_parts", _parse(self.text))
        object.__setattr__(self, "fallbacks", {field_key(k): v for k, v in self.fallbacks.items()})

    @property
    def fields(self) -> tuple[str, ...]:
        """The field keys used, in order of first appearance."""
        return tuple(dict.fromkeys(p.field for p in self._parts if p.field is not None))

    @property
    def personalised(self) -> bool:
        """Whether the template has any field."""
        return len(self._parts) > 1

    @property
    def skeleton(self) -> str:
        """The text with every field left out: what every recipient's message shares."""
        return " ".join(p.literal for p in self._parts)

    def _value(self, field: str, fallback: str | None, values: Mapping[str, str]) -> str | None:
        value = values.get(field)
        if value:
            return value
        return fallback if fallback is not None else self.fallbacks.get(field)

    def missing(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """The fields ``values`` lack that have no fallback (empty values count as missing)."""
        return tuple(
            dict.fromkeys(
                p.field
                for p in self._parts
                if p.field is not None and self._value(p.field, p.fallback, values) is None
            )
        )

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one recipient; TemplateError names any field it cannot fill."""
        out: list[str] = []
        for part in self._parts:
            out.append(part.literal)
            if part.field is not None:
                value = self._value(part.field, part.fallback, values)
                if value is None:
                    raise TemplateError(
                        f"no value for {{{part.field}}} and no fallback; "
                        f"missing: {', '.join(self.missing(values))}"
                    )
                out.append(value)
        return "".join(out)

    def values_text(self, values: Mapping[str, str]) -> str:
        """The values a rendering inserts, joined: what personalisation adds to the text."""
        return " ".join(
            v
            for p in self._parts
            if p.field is not None and (v := self._value(p.field, p.fallback, values))
        )

"""A griffe extension for the docs build: mrekv's reST-flavoured docstrings, read as Markdown.

mrekv's docstrings are Google-style with a few reStructuredText habits. Before griffe
parses them (only in the docs build, mkdocs.yml loads this file):

* ``Example:`` section titles become ``Examples:`` (griffe's Google parser only knows
  the plural, and would render the ``>>>`` lines as Markdown block quotes);
* Sphinx roles, ``:class:`~mrekv.x.Name```, become inline code (``Name``);
* a paragraph ending in ``::`` (a reST literal block follows) ends in ``:``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def markdown_docstring(text: str) -> str:
    """The docstring with the reST habits above rewritten."""
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _ROLE.sub(_role, text)
    return _LITERAL.sub(r"\1:", text)


class ExampleSections(griffe.Extension):
    """Rewrite every docstring griffe loads before it is parsed (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of one object."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)

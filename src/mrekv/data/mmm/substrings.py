"""Substring tests against one text in time linear in the query, not in the text.

The record parser asks, for many candidate spans, whether the text holds them
verbatim. ``span in text`` costs up to ``len(text)`` per question, which makes
a record with tens of thousands of word labels (and a text as long) quadratic.
:class:`SubstringIndex` answers the same question from a suffix automaton of the
text, built once in ``O(len(text))`` and only for long texts; each question then
costs at most ``len(span)`` steps and stops at the first character that cannot
follow.
"""

from __future__ import annotations

__all__ = ["SubstringIndex"]

#: Texts up to this length are searched directly (``in`` is faster than building).
DIRECT_LIMIT = 4096


class SubstringIndex:
    """``index.contains(span)`` is ``span in text``.

    Example:
        >>> SubstringIndex("the cat sat").contains("cat s")
        True
        >>> SubstringIndex("the cat sat").contains("dog")
        False
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._edges: list[dict[str, int]] | None = None

    def contains(self, span: str) -> bool:
        """Whether ``span`` occurs in the text."""
        if len(self.text) <= DIRECT_LIMIT or len(span) > len(self.text):
            return span in self.text
        edges = self._edges
        if edges is None:
            edges = self._edges = _suffix_automaton(self.text)
        state = 0
        for ch in span:
            state = edges[state].get(ch, -1)
            if state < 0:
                return False
        return True


def _suffix_automaton(text: str) -> list[dict[str, int]]:
    """The transitions of the suffix automaton of ``text`` (state 0 is the start).

    The standard online construction (Blumer et al. 1985): at most ``2 n``
    states, amortised constant work per character.
    """
    edges: list[dict[str, int]] = [{}]
    link = [-1]
    length = [0]
    last = 0
    for ch in text:
        cur = len(edges)
        edges.append({})
        length.append(length[last] + 1)
        link.append(0)
        p = last
        while p != -1 and ch not in edges[p]:
            edges[p][ch] = cur
            p = link[p]
        if p != -1:
            q = edges[p][ch]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(edges)
                edges.append(dict(edges[q]))
                length.append(length[p] + 1)
                link.append(link[q])
                while p != -1 and edges[p].get(ch) == q:
                    edges[p][ch] = clone
                    p = link[p]
                link[q] = clone
                link[cur] = clone
        last = cur
    return edges

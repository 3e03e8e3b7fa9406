"""Turning PromptClassifier's flexible arguments into templates and verbalizers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError
from mrekv.verbalizer.label_words import LabelWords

if TYPE_CHECKING:  # pragma: no cover
    from mrekv.prompt.template import Template
    from mrekv.verbalizer.base import Verbalizer


def resolve_template(template: Any, lang: str | None, backbone: str = "masked") -> Template:
    if template is None:
        if backbone == "causal":
            from mrekv.prompt.causal_template import default_causal_template

            return default_causal_template(lang or "en")
        from mrekv.prompt.template import default_template

        return default_template(lang or "en")
    if isinstance(template, str):
        from mrekv.prompt.template import Template

        return Template(template)
    return template  # type: ignore[no-any-return]


def resolve_verbalizer(verbalizer: Any, classes: Sequence[str] | None) -> Verbalizer | None:
    """Turn the ``verbalizer=`` argument into a Verbalizer (None: decide at fit)."""
    from mrekv.verbalizer.base import Verbalizer

    wanted = None if classes is None else tuple(str(c) for c in classes)
    if verbalizer is None:
        if wanted is None:
            return None
        from mrekv.verbalizer.soft import SoftVerbalizer

        return SoftVerbalizer(wanted)
    if isinstance(verbalizer, Verbalizer):
        built = verbalizer
    elif isinstance(verbalizer, LabelWords):
        from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

        built = KnowledgeableVerbalizer(verbalizer)
    elif isinstance(verbalizer, Mapping):
        from mrekv.verbalizer.manual import ManualVerbalizer

        built = ManualVerbalizer(wanted or tuple(verbalizer), verbalizer)
    elif isinstance(verbalizer, Sequence) and not isinstance(verbalizer, str):
        if wanted is None:
            raise ConfigError("a list of word lists as verbalizer needs classes= (one per list)")
        from mrekv.verbalizer.manual import ManualVerbalizer

        built = ManualVerbalizer(wanted, [list(ws) for ws in verbalizer])
    else:
        raise ConfigError(
            f"unsupported verbalizer {type(verbalizer).__name__}; pass a Verbalizer, LabelWords, "
            "a list of word lists per class, or a {class: words} mapping"
        )
    if wanted is not None and tuple(built.classes) != wanted:
        raise ConfigError(
            f"classes {list(wanted)} disagree with the verbalizer's classes {list(built.classes)}"
        )
    return built

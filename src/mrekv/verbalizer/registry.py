"""Rebuilding a verbalizer from its saved config: the dispatcher above every verbalizer.

:meth:`Verbalizer.to_config` writes a ``type``; :func:`verbalizer_from_config`
finds the class whose ``config_type`` it is and calls its ``from_config``. The
built-in verbalizers are imported here, so the base class knows none of its
subclasses; a verbalizer defined elsewhere (a subclass of
:class:`~mrekv.verbalizer.base.Verbalizer` that sets its own ``config_type``)
is found once its module has been imported.
"""

from __future__ import annotations

from typing import Any

from mrekv.verbalizer.base import Verbalizer
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.soft import SoftVerbalizer

#: The built-in verbalizers, by config type.
BUILTIN: dict[str, type[Verbalizer]] = {
    cls.config_type: cls for cls in (ManualVerbalizer, KnowledgeableVerbalizer, SoftVerbalizer)
}


def verbalizer_types() -> dict[str, type[Verbalizer]]:
    """Every verbalizer class that names its own ``config_type``, by that type.

    Subclasses defined after the built-ins win a clash, so a project may
    replace a built-in type with its own class.
    """
    found = dict(BUILTIN)
    pending = list(Verbalizer.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        config_type = cls.__dict__.get("config_type")
        if config_type and cls is not BUILTIN.get(config_type):
            found[config_type] = cls
    return found


def verbalizer_from_config(config: dict[str, Any]) -> Verbalizer:
    """Rebuild a verbalizer from :meth:`Verbalizer.to_config` output.

    Raises:
        ValueError: the ``type`` is unknown (the message lists the known ones).

    Example:
        >>> v2 = verbalizer_from_config(v.to_config())            # doctest: +SKIP
        >>> v2.prepare(tokenizer, model).load_state_dict(v.state_dict())  # doctest: +SKIP
    """
    types = verbalizer_types()
    kind = config.get("type")
    if kind not in types:
        known = ", ".join(sorted(types))
        raise ValueError(f"unknown verbalizer type {kind!r}; known types: {known}")
    return types[kind].from_config(config)

"""The prompt template of a cell: the config's text, or a default for the backbone."""

from __future__ import annotations

from typing import Any

from mrekv.errors import ConfigError
from mrekv.experiment.datasets import PreparedDataset


def prompt_template(template: str, data: PreparedDataset, model_path: str) -> Any:
    """The template of a prompt cell; a causal LM gets its own language default."""
    if template == "default" and _backbone_of(model_path) == "causal":
        return lm_template(template, data, "causal")
    return _template(template, data)


def _backbone_of(model_path: str) -> str:
    if model_path.endswith(".gguf"):
        return "causal"
    from transformers import AutoConfig

    from mrekv.models import detect_backbone

    try:
        return detect_backbone(AutoConfig.from_pretrained(model_path))
    except (OSError, ValueError, ConfigError):
        return "masked"  # let the classifier report what is wrong with the model


def _template(template: str, data: PreparedDataset) -> Any:
    """The template text, or the language default (of the dataset's kind where supported)."""
    if template != "default":
        return template
    kind = data.config.template_kind
    if kind is None:
        return None  # the classifier's default_template(lang)
    import inspect

    from mrekv.prompt.template import default_template

    if "kind" not in inspect.signature(default_template).parameters:
        raise ConfigError(f"dataset {data.name!r}: template_kind={kind!r} is set but "
                          "default_template() takes no kind; unset it or give a template")
    return default_template(data.lang, kind=kind)


def lm_template(template: str, data: PreparedDataset, backbone: str) -> Any:
    """The Template of a frozen-LM cell: the given text, or the backbone's language default."""
    from mrekv.prompt.template import Template

    if template != "default":
        return Template(template)
    kind = data.config.template_kind or "generic"
    if backbone == "causal":
        from mrekv.prompt.causal_template import default_causal_template

        return default_causal_template(data.lang, kind)
    from mrekv.prompt.template import default_template

    return default_template(data.lang, kind)

"""OpenPrompt-compatible API: ``s/from openprompt/from mrekv.openprompt/`` ports a script.

Module paths, names and signatures follow thunlp/OpenPrompt (and KPT's
``tfidf_filter`` in :mod:`mrekv.openprompt.kpt`); the numbers follow OpenPrompt's
formulas, computed with mrekv's own verbalizer math
(:mod:`mrekv.verbalizer.kpt`, :mod:`mrekv.verbalizer.knowledgeable`) and batching.
Where OpenPrompt crashes or calls ``exit()``, mrekv raises
:class:`~mrekv.errors.ConfigError`; its two bugs (an in-place division that breaks
``backward()`` after calibration, and ``register_calibrate_logits`` resetting
learned word weights) are not reproduced. See ``docs/coming-from-openprompt.md``.

Example:
    >>> from mrekv.openprompt import PromptDataLoader, PromptForClassification  # doctest: +SKIP
    >>> from mrekv.openprompt.plms import load_plm                              # doctest: +SKIP
    >>> from mrekv.openprompt.prompts import ManualTemplate  # doctest: +SKIP
"""

from mrekv.openprompt.pipeline_base import PromptDataLoader, PromptForClassification, PromptModel
from mrekv.openprompt.prompts import (
    AutomaticVerbalizer,
    MixedTemplate,
    PrefixTuningTemplate,
    PtuningTemplate,
    SoftTemplate,
)

__all__ = [
    "PromptDataLoader",
    "PromptForClassification",
    "PromptModel",
    "AutomaticVerbalizer",
    "MixedTemplate",
    "PrefixTuningTemplate",
    "PtuningTemplate",
    "SoftTemplate",
]

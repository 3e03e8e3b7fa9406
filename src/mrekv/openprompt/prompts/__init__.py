"""OpenPrompt's ``openprompt.prompts``: templates and verbalizers for classification."""

from mrekv.openprompt.prompts.automatic_verbalizer import AutomaticVerbalizer
from mrekv.openprompt.prompts.knowledgeable_verbalizer import KnowledgeableVerbalizer
from mrekv.openprompt.prompts.manual_template import ManualTemplate
from mrekv.openprompt.prompts.manual_verbalizer import ManualVerbalizer
from mrekv.openprompt.prompts.mixed_template import MixedTemplate
from mrekv.openprompt.prompts.prefix_tuning_template import PrefixTuningTemplate
from mrekv.openprompt.prompts.ptuning_template import PtuningTemplate
from mrekv.openprompt.prompts.soft_template import SoftTemplate
from mrekv.openprompt.prompts.soft_verbalizer import SoftVerbalizer

__all__ = [
    "AutomaticVerbalizer",
    "KnowledgeableVerbalizer",
    "ManualTemplate",
    "ManualVerbalizer",
    "MixedTemplate",
    "PrefixTuningTemplate",
    "PtuningTemplate",
    "SoftTemplate",
    "SoftVerbalizer",
]

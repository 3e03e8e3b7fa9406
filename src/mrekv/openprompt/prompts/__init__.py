"""OpenPrompt's ``openprompt.prompts``: templates and verbalizers for classification."""

from mrekv.openprompt.prompts.knowledgeable_verbalizer import KnowledgeableVerbalizer
from mrekv.openprompt.prompts.manual_template import ManualTemplate
from mrekv.openprompt.prompts.manual_verbalizer import ManualVerbalizer
from mrekv.openprompt.prompts.soft_verbalizer import SoftVerbalizer

__all__ = ["KnowledgeableVerbalizer", "ManualTemplate", "ManualVerbalizer", "SoftVerbalizer"]

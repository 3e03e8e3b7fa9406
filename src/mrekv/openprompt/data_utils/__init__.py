"""OpenPrompt's ``openprompt.data_utils``: examples, the few-shot sampler and dataset processors.

The module paths are OpenPrompt's:

* :mod:`~mrekv.openprompt.data_utils.utils`: :class:`InputExample`, :class:`InputFeatures`;
* :mod:`~mrekv.openprompt.data_utils.data_sampler`: :class:`FewShotSampler`;
* :mod:`~mrekv.openprompt.data_utils.data_processor`: :class:`DataProcessor`;
* :mod:`~mrekv.openprompt.data_utils.text_classification_dataset`: the AG News,
  DBpedia, IMDB, Amazon, Yahoo, SST-2 and MNLI readers of OpenPrompt's dataset folders;
* :mod:`~mrekv.openprompt.data_utils.huggingface_dataset`:
  :class:`YahooAnswersTopicsProcessor`, read from a local folder only.

:data:`PROCESSORS` maps the dataset names of both processor modules to their classes
(OpenPrompt's also holds readers of SuperGLUE, relation, typing, LAMA and generation
datasets, which mrekv does not have).

Example:
    >>> from mrekv.openprompt.data_utils import PROCESSORS, FewShotSampler
    >>> sorted(PROCESSORS)[:3]
    ['agnews', 'amazon', 'dbpedia']
"""

from mrekv.openprompt.data_utils.data_processor import DataProcessor
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.data_utils.huggingface_dataset import (
    PROCESSORS as HF_PROCESSORS,
)
from mrekv.openprompt.data_utils.huggingface_dataset import (
    YahooAnswersTopicsProcessor,
)
from mrekv.openprompt.data_utils.text_classification_dataset import (
    PROCESSORS as TC_PROCESSORS,
)
from mrekv.openprompt.data_utils.text_classification_dataset import (
    AgnewsProcessor,
    AmazonProcessor,
    DBpediaProcessor,
    ImdbProcessor,
    MnliProcessor,
    SST2Processor,
    YahooProcessor,
)
from mrekv.openprompt.data_utils.utils import InputExample, InputFeatures

#: Dataset name -> processor class, over both processor modules.
PROCESSORS: dict[str, type[DataProcessor]] = {**TC_PROCESSORS, **HF_PROCESSORS}

__all__ = [
    "PROCESSORS",
    "AgnewsProcessor",
    "AmazonProcessor",
    "DBpediaProcessor",
    "DataProcessor",
    "FewShotSampler",
    "ImdbProcessor",
    "InputExample",
    "InputFeatures",
    "MnliProcessor",
    "SST2Processor",
    "YahooAnswersTopicsProcessor",
    "YahooProcessor",
]

"""Loading a saved classifier of either kind: the dispatcher above both classifiers.

A saved folder's ``mrekv_config.json`` names its ``kind``; :func:`load_classifier`
hands the folder to that kind's ``from_pretrained``. It lives here, above
:mod:`mrekv.prompt.classifier` and :mod:`mrekv.finetune`, so that the folder
format (:mod:`mrekv.prompt.saving`) knows neither of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrekv.errors import SaveFormatError
from mrekv.prompt.saving import CONFIG_FILE, read_json, recover_interrupted_save

if TYPE_CHECKING:  # pragma: no cover
    from mrekv.prompt.estimator import BaseClassifier


def classifier_class(kind: Any) -> type[BaseClassifier] | None:
    """The classifier class saved as ``kind`` ("prompt" or "finetune"), else None."""
    if kind == "prompt":
        from mrekv.prompt.classifier import PromptClassifier

        return PromptClassifier
    if kind == "finetune":
        from mrekv.finetune import FineTuneClassifier

        return FineTuneClassifier
    return None


def load_classifier(path: str | Path, *, device: Any = None, progress: bool = True) -> Any:
    """Load a saved PromptClassifier or FineTuneClassifier, whichever ``path`` holds.

    Example:
        >>> clf = load_classifier("runs/sst2-kv")  # doctest: +SKIP
        >>> clf.predict(["a charming film"])  # doctest: +SKIP

    Raises:
        SaveFormatError: not a saved classifier, or its files are broken (named).
    """
    folder = Path(path)
    if not folder.is_dir():  # a save killed between its renames (see mrekv._folders)
        recover_interrupted_save(folder)
    path_json = folder / CONFIG_FILE
    if not os.path.lexists(path_json):
        raise SaveFormatError(f"{path_json}: missing; {folder} is not a saved mrekv classifier")
    config = read_json(path_json)  # a FIFO or a link out of the folder is refused unread
    if not isinstance(config, dict):
        raise SaveFormatError(f"{path_json}: expected a JSON object, got {type(config).__name__}")
    kind = config.get("kind")
    cls = classifier_class(kind)
    if cls is None:
        raise SaveFormatError(
            f"{path_json}: unknown kind {kind!r}; valid kinds: 'prompt', 'finetune'"
        )
    return cls.from_pretrained(folder, device=device, progress=progress)

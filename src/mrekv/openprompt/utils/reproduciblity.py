"""OpenPrompt's ``openprompt.utils.reproduciblity`` (sic): :func:`set_seed`."""

from __future__ import annotations


def set_seed(seed: int | None = None) -> None:
    """Seed Python's, NumPy's and torch's random generators (all GPUs too).

    Args:
        seed: the seed; None does nothing, as in OpenPrompt.

    Example:
        >>> set_seed(144)
    """
    if seed is None:
        return
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)

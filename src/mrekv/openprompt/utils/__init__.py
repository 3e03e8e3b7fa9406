"""OpenPrompt's ``openprompt.utils``: :mod:`.calibrate` and :mod:`.reproduciblity` (sic)."""

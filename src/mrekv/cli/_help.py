"""Help text that always shows an option's default."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.HelpFormatter):
    """Append ``(default: ...)`` to an option's help unless the help already says it.

    Unlike :class:`argparse.ArgumentDefaultsHelpFormatter` it leaves out ``None`` and
    ``False`` defaults (an option that is off or unset says so in its own words).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser (and, through ``add_subparsers``, its sub-commands) using
    :class:`HelpFormatter`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

"""What the project's command lines share: errors in one line, and ``--profile`` with its valid choices.

    parser = arguments.parser("Run the paper")
    arguments.add_profile(parser)                    # --profile cpuu → "... invalid choice: 'cpuu' (choose from ...)"

A typo then stops the command in one line that names the valid choices, before anything is imported or
trained, instead of argparse's usage block or a traceback from deep inside a run.
"""
from __future__ import annotations

import argparse

from mmvae_lib.profiles import PROFILES


class OneLineParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the arguments)\n")


def parser(description: str | None = None, **kwargs) -> OneLineParser:
    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    return OneLineParser(description=description, **kwargs)


def add_profile(parser: argparse.ArgumentParser, default: str = "cpu") -> None:
    """``--profile``, one of :data:`mmvae_lib.profiles.PROFILES` (default ``default``)."""
    names = sorted(PROFILES)
    parser.add_argument("--profile", default=default, choices=names, metavar="PROFILE",
                        help=f"one of {', '.join(names)} (default: {default})")

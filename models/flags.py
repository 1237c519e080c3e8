"""Command-line flags generated from a dataclass's fields, for every `python -m` entry point (assistant, training)."""

from __future__ import annotations

import argparse
import dataclasses
import math


class UsageError(Exception):
    """Options that no command can run with (exit status 2, one line)."""


def finite_float(text: str) -> float:
    """A float flag: nan and inf are refused here, before they reach sampling or an optimizer."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One --flag per scalar field of a dataclass; a flag not given stays None so the field's default applies."""
    for f in dataclasses.fields(cls):
        if f.name in skip or f.type not in ("str", "int", "float", "int | None", "float | None"):
            continue
        kind = {"str": str, "int": int, "float": finite_float}[f.type.split(" ")[0]]
        parser.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None,
                            help=f"default: {f.default!r}")


def from_flags(cls, args: argparse.Namespace, **overrides):
    """Build a dataclass from the flags that were given, keeping defaults for the rest. The dataclass validates
    its own values; a refusal becomes a UsageError (one line, exit status 2)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
             if getattr(args, f.name, None) is not None}
    try:
        return cls(**{**given, **overrides})
    except ValueError as e:
        raise UsageError(str(e)) from None

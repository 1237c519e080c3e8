"""Every tool's command line builds: `python -m tools.X --help` parses its flags without loading a model (a tool
that is not imported by the product is otherwise only exercised when someone runs it)."""

import importlib

import pytest

TOOLS = ["bench", "demo", "evaluate_answers", "evaluate_transcription", "loadtest", "retrieval_eval", "stall"]


@pytest.mark.parametrize("name", TOOLS)
def test_help_parses(name, capsys):
    module = importlib.import_module(f"tools.{name}")
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0 and f"tools.{name}" in capsys.readouterr().out

"""The command-line contract on tiny models: JSON shapes, batch, exit codes and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def llm_flag(tiny_llm_dir):
    return ["--llm", str(tiny_llm_dir), "--device", "cpu", "--temperature", "0", "--max-new-tokens", "5"]


def test_ask_json(llm_flag, capsys):
    assert main(["ask", "hello", "--json", *llm_flag]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"answer", "transcript", "ttft_ms", "tokens", "tokens_per_s", "models"} <= set(out)
    assert out["transcript"] is None and out["tokens"] == 5


def test_ask_streams_plain_text(llm_flag, capsys):
    assert main(["ask", "hello", *llm_flag]) == 0
    assert capsys.readouterr().out.strip()


def test_batch_answers_every_line_with_its_id(llm_flag, tmp_path, capsys):
    lines = [{"id": "a", "text": "hello"}, {"id": 2, "text": "red", "max_new_tokens": 2},
             {"id": "bad", "image": str(tmp_path / "missing.png"), "text": "what"}]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert main(["ask", "--batch", str(tmp_path / "in.jsonl"), "--json", *llm_flag]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "bad"]
    assert rows[1]["tokens"] == 2 and "no such file" in rows[2]["error"]


def test_batch_lines_need_ids(llm_flag, tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"text": "hi"}\n')
    assert main(["ask", "--batch", str(tmp_path / "in.jsonl"), "--json", *llm_flag]) == 3
    assert "must be an object with an id" in capsys.readouterr().err


@pytest.mark.parametrize("make,args,words", [
    (None, ["ask", "hi", "--image", "{tmp}/nope.png"], "no such file"),
    ("garbage.png", ["ask", "hi", "--image", "{tmp}/garbage.png"], "not an image"),
    ("empty.wav", ["ask", "--audio", "{tmp}/empty.wav"], "empty"),
    ("notes.bin", ["ask", "summarize", "--file", "{tmp}/notes.bin"], "binary"),
    (None, ["ask"], "nothing to ask"),
])
def test_bad_input_exits_non_zero_with_one_line(llm_flag, tmp_path, capsys, make, args, words):
    if make:
        content = {"garbage.png": b"hello", "empty.wav": b"", "notes.bin": b"\x00\x01\x02" * 100}[make]
        (tmp_path / make).write_bytes(content)
    code = main([a.replace("{tmp}", str(tmp_path)) for a in args] + llm_flag)
    err = capsys.readouterr().err.strip()
    assert code != 0 and words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_flags_come_from_the_dataclasses():
    args = build_parser().parse_args(["ask", "x", "--top-p", "0.5", "--seed", "3", "--system-prompt", "Be kind."])
    assert args.top_p == 0.5 and args.seed == 3 and args.system_prompt == "Be kind."


def test_no_traceback_as_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "assistant", "transcribe", str(tmp_path / "none.wav"),
                           "--whisper", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "no such file" in proc.stderr


def test_a_text_question_imports_no_speech_or_vision_stack(llm_flag):
    # Importing whisper and the vision towers before anything needs them made a cold `ask` seconds slower.
    script = ("import sys; from assistant.cli import main; code = main(sys.argv[1:]); "
              "print([m for m in ('whisper', 'models.encoders.speech', 'models.encoders.vision') if m in sys.modules]);"
              " sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script, "ask", "hello", *llm_flag], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_only_serve_and_help_build_the_server_flags():
    from assistant.cli import command_word

    assert command_word(["ask", "--json", "hi"]) == "ask" and command_word(["--help"]) is None
    assert command_word([]) is None
    ask_only = build_parser("ask")
    assert ask_only.parse_args(["ask", "hi"]).text == "hi"
    serve = ["serve", "--max-queue", "3"]
    assert build_parser("serve").parse_args(serve).max_queue == 3
    assert build_parser().parse_args(serve).max_queue == 3  # no command known: the whole contract
    with pytest.raises(SystemExit):
        ask_only.parse_args(serve)  # a parser built for ask does not know the serve flags

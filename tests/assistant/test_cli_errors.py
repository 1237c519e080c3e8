"""Bad options and bad input through the command line: one line on stderr, exit status 2 or 3, never a traceback."""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from assistant import cli
from tests.assistant.doc_fixtures import make_flate_bomb_pdf

ROOT = Path(__file__).resolve().parents[2]
HUGE_INT = "1" * 5000  # past Python's 4300-digit limit on int(str)


def main(argv: list[str]) -> int:
    """cli.main, with argparse's SystemExit turned into the exit status a shell would see."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return e.code


def one_line_error(capsys, code: int, *words: str) -> str:
    """Assert the CLI failed with exactly one line that says `words`, and no traceback."""
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code in (2, 3), (code, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err + captured.out, err
    assert all(w in err for w in words), err
    return err


@pytest.fixture()
def llm(tiny_llm_dir):
    return ["--llm", str(tiny_llm_dir), "--device", "cpu", "--max-new-tokens", "2"]


@pytest.mark.parametrize("flags,words", [
    (["--threads", "-1"], ["threads"]),
    (["--temperature", "nan"], ["--temperature", "finite"]),
    (["--top-p", "inf"], ["--top-p", "finite"]),
    (["--seed", "9" * 30], ["seed"]),
    (["--quantize", "int3"], ["quantize"]),
    (["--max-file-mb", "0"], ["max_file_mb"]),
    (["--threads", HUGE_INT], ["--threads"]),
])
def test_bad_options_are_refused_before_anything_loads(llm, capsys, flags, words):
    one_line_error(capsys, main(["ask", "hi", *llm, *flags]), *words)


def test_cuda_without_a_gpu(llm, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    one_line_error(capsys, main(["ask", "hi", *llm, "--device", "cuda"]), "no CUDA GPU")


def test_unknown_vision_model_with_an_image(llm, capsys, tmp_path):
    Image.new("RGB", (32, 32), "red").save(tmp_path / "a.png")
    for name in ("bogus", "open_clip:bogus"):
        err = one_line_error(capsys, main(["ask", "hi", *llm, "--image", str(tmp_path / "a.png"), "--vision", name]),
                             "bogus")
        assert len(err) < 300  # not open_clip's list of every model


def test_serve_port_out_of_range_and_in_use(tiny_llm_dir, capsys):
    llm = ["--llm", str(tiny_llm_dir), "--device", "cpu"]
    one_line_error(capsys, main(["serve", *llm, "--port", "99999"]), "65535")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(capsys, main(["serve", *llm, "--port", str(port)]), f"127.0.0.1:{port}", "in use")


@pytest.mark.parametrize("name,data,words", [
    ("big.json", b'{"a": ' + HUGE_INT.encode() + b"}", ["big.json", "not valid JSON", "digits"]),
    ("odd.txt", b"\xff\xfe" + "hello".encode("utf-16-le") + b"x", ["odd.txt", "UTF-16"]),
    ("bomb.pdf", make_flate_bomb_pdf(80_000_000), ["bomb.pdf", "unpacks past"]),  # pypdf's limit is 75 MB
])
def test_bad_documents(llm, capsys, tmp_path, name, data, words):
    (tmp_path / name).write_bytes(data)
    one_line_error(capsys, main(["ask", "summarize", *llm, "--file", str(tmp_path / name)]), *words)


def test_batch_line_with_a_huge_integer_or_wrong_types(llm, capsys, tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_text(f'{{"id": 1, "text": "hi", "max_new_tokens": {HUGE_INT}}}\n')
    one_line_error(capsys, main(["ask", "--batch", str(batch), *llm]), "in.jsonl:1", "digits")

    lines = [{"id": "list", "text": ["a"]}, {"id": "temp", "text": "hi", "temperature": "hot"},
             {"id": "neg", "text": "hi", "max_new_tokens": -1}, {"id": "files", "files": [3]},
             {"id": "ok", "text": "hi"}]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert main(["ask", "--batch", str(batch), "--json", *llm]) == 1
    captured = capsys.readouterr()
    rows = {r["id"]: r for r in map(json.loads, captured.out.splitlines())}
    assert "Traceback" not in captured.err
    assert "'text' must be a string" in rows["list"]["error"] and "line 1" in rows["list"]["error"]
    assert "'temperature' must be a number" in rows["temp"]["error"]
    assert "max_new_tokens" in rows["neg"]["error"] and "'files'" in rows["files"]["error"]
    assert "error" not in rows["ok"] and rows["ok"]["tokens"] == 2


def test_a_fifo_is_refused_not_waited_on(llm, capsys, tmp_path):
    fifo = tmp_path / "notes.txt"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(code=main(["ask", "hi", *llm, "--file", str(fifo)])),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # it is blocked opening or reading the FIFO: release it, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(10)
        pytest.fail("reading a FIFO blocked")
    one_line_error(capsys, result["code"], "notes.txt", "not a regular file")


def test_no_traceback_for_a_bad_option_as_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "assistant", "serve", "--port", "99999"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "65535" in proc.stderr


def test_every_reader_refuses_what_is_not_a_regular_file(tmp_path):
    from assistant.documents import read
    from assistant.media import UserInputError, load_audio, load_image, read_bytes
    from assistant.retrieval import quote_file

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for reader in (read_bytes, read, load_image, load_audio, lambda p: quote_file(p, p.name, "q", 1000)):
        for path in (fifo, Path("/dev/null")):
            with pytest.raises(UserInputError, match="not a regular file"):
                reader(path)

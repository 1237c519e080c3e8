"""tools.bench_runtimes without weights: rows whose model is missing are reported, the table shows every row."""

from assistant.engine import EngineConfig
from models.weights.catalog import MissingWeightsError
from tools import bench_runtimes
from tools.bench_runtimes import Row, compare, markdown


def test_a_missing_model_is_a_row_not_a_failure(monkeypatch):
    def measure(row, config, repeats):
        if row.llm == "absent":
            raise MissingWeightsError("absent is not installed: python -m assistant install absent")
        return {"row": row.label, "load_s": 0.3, "short_ttft_ms": 131.0, "prompt_tokens": 386, "prefill_ms": 1404.0,
                "decode_tok_s": 93.5, "cold_ask_s": 0.7, "cold_ask_peak_mb": 345}

    monkeypatch.setattr(bench_runtimes, "measure", measure)
    rows = compare(EngineConfig(), (Row("here", "fast", "llama.cpp"), Row("gone", "absent", "llama.cpp")), 1)
    assert rows[0]["decode_tok_s"] == 93.5 and "install absent" in rows[1]["missing"]
    table = markdown(rows).splitlines()
    assert table[2] == "| here | 0.3 | 131 | 1404 (386 tokens) | 93.5 | 0.7 | 345 |"
    assert table[3].startswith("| gone | not installed |")
    assert "cores; greedy, cold caches" in table[-1]


def test_every_row_names_a_runtime_the_engine_accepts():
    for row in bench_runtimes.ROWS:
        EngineConfig(llm=row.llm, runtime=row.runtime, quantize=row.quantize)  # raises on a bad value

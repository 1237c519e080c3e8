"""Decoder LLMs: chat prompts, the runtimes (llama.cpp with its slots, torch), sampling and the token loop."""

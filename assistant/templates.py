"""Few-shot prompt templates: a system instruction plus example exchanges placed before the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.conversation import Message, TextPart


@dataclass(frozen=True)
class PromptTemplate:
    """Zero-shot (instruction only), one-shot or few-shot (instruction and example question/answer pairs)."""

    name: str
    system: str = ""
    examples: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def shots(self) -> str:
        """zero-shot, one-shot or few-shot."""
        return {0: "zero-shot", 1: "one-shot"}.get(len(self.examples), "few-shot")

    def apply(self, conversation: list[Message], base_system: str = "") -> list[Message]:
        """The conversation as the model should see it: system message, example turns, then the real turns."""
        system = "\n\n".join(s for s in (base_system.strip(), self.system.strip()) if s)
        head = [Message("system", (TextPart(system),))] if system else []
        for question, answer in self.examples:
            head += [Message.user(question), Message.assistant(answer)]
        return head + list(conversation)

    @classmethod
    def from_dict(cls, raw: dict) -> PromptTemplate:
        """From the JSON settings form; examples are [question, answer] pairs."""
        examples = tuple((str(q), str(a)) for q, a in raw.get("examples", ()))
        return cls(str(raw["name"]), str(raw.get("system", "")), examples)


BUILTIN_TEMPLATES = (
    PromptTemplate("Concise", "Answer in one or two short sentences."),
    PromptTemplate("Translate to Korean", "Translate the user's text into Korean. Reply with the translation only.",
                   (("Good morning, how are you?", "좋은 아침입니다, 잘 지내세요?"),)),
    PromptTemplate("Sentiment", "Classify the sentiment of the user's text as positive, negative or neutral.",
                   (("I love this phone, the battery lasts for days.", "positive"),
                    ("The delivery was late and the box was crushed.", "negative"),
                    ("The package arrived on Tuesday.", "neutral"))),
)

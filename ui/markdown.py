"""Markdown answers to the HTML subset QTextBrowser renders, with highlighted code blocks and copy links."""

from __future__ import annotations

import html

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound


def _lexer(lang: str, code: str):
    try:
        return get_lexer_by_name(lang) if lang else guess_lexer(code)
    except ClassNotFound:
        return TextLexer()


def render(text: str, dark: bool = False, copy_label: str = "Copy", streaming: bool = False) -> tuple[str, list[str]]:
    """(HTML, code blocks). Each code block gets a `copy:<index>` link; raw HTML in the text is escaped.

    streaming: the text is still growing, so a code block opened but with no code yet is not drawn (an empty box
    would flash up before every code answer)."""
    blocks: list[str] = []
    md = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style="monokai" if dark else "friendly")
    background = "#272822" if dark else "#f3f4f6"
    border = "#444" if dark else "#d0d4da"

    def fence(_renderer, tokens, idx, options, env):
        token = tokens[idx]
        code = token.content
        if streaming and not code.strip():
            return ""
        lang = token.info.strip().split(" ")[0] if token.info else ""
        lexer = _lexer(lang, code)
        blocks.append(code)
        name = html.escape(lang or lexer.name.lower())
        body = highlight(code, lexer, formatter)
        return (f'<table width="100%" cellspacing="0" cellpadding="6" style="background:{background};'
                f'border:1px solid {border};margin:4px 0"><tr><td><span style="color:#888">{name}</span>'
                f'&nbsp;&nbsp;<a href="copy:{len(blocks) - 1}">{html.escape(copy_label)}</a></td></tr>'
                f'<tr><td><pre style="margin:0">{body}</pre></td></tr></table>')

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    try:
        return md.render(text), blocks
    except Exception:  # never let odd text break the chat: show it plain
        return f"<pre>{html.escape(text)}</pre>", []

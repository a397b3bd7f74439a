"""RICH_TEXT_V2: derive BlockNote JSON from markdown (and back) like the server does on write.

Covers headings, paragraphs, bullet and numbered list items, and bold/italic/code inline styles: enough
for the shape the recording shows. Block ids are fresh UUIDs, as upstream.
"""

from __future__ import annotations

import json
import re
import uuid

_PROPS = {"textColor": "default", "backgroundColor": "default", "textAlignment": "left"}
_INLINE = re.compile(r"(\*\*[^*]+\*\*|__[^_]+__|\*[^*]+\*|_[^_]+_|`[^`]+`)")


def _inline(text: str) -> list[dict]:
    content = []
    for part in _INLINE.split(text):
        if not part:
            continue
        styles: dict = {}
        if (part.startswith("**") and part.endswith("**")) or (part.startswith("__") and part.endswith("__")):
            part, styles = part[2:-2], {"bold": True}
        elif len(part) > 1 and part[0] == part[-1] and part[0] in "*_":
            part, styles = part[1:-1], {"italic": True}
        elif len(part) > 1 and part[0] == part[-1] == "`":
            part, styles = part[1:-1], {"code": True}
        content.append({"type": "text", "text": part, "styles": styles})
    return content


def _block(kind: str, text: str, **props) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "props": {**_PROPS, **props},
        "content": _inline(text),
        "children": [],
    }


def markdown_to_blocknote(markdown: str) -> str:
    blocks = []
    paragraph: list[str] = []

    def flush():
        if paragraph:
            blocks.append(_block("paragraph", "\n".join(paragraph)))
            paragraph.clear()

    for line in markdown.split("\n"):
        stripped = line.strip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        bullet = re.match(r"^[-*+]\s+(.*)$", stripped)
        numbered = re.match(r"^\d+[.)]\s+(.*)$", stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            blocks.append(_block("heading", heading.group(2), level=min(len(heading.group(1)), 3)))
        elif bullet:
            flush()
            blocks.append(_block("bulletListItem", bullet.group(1)))
        elif numbered:
            flush()
            blocks.append(_block("numberedListItem", numbered.group(1)))
        else:
            paragraph.append(stripped)
    flush()
    return json.dumps(blocks, ensure_ascii=False, separators=(",", ":"))


def blocknote_to_markdown(blocknote: str) -> str:
    try:
        blocks = json.loads(blocknote)
    except ValueError:
        return ""
    lines = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        text = ""
        for item in block.get("content") or []:
            if isinstance(item, dict):
                piece = str(item.get("text", ""))
                styles = item.get("styles") or {}
                if styles.get("bold"):
                    piece = f"**{piece}**"
                if styles.get("italic"):
                    piece = f"*{piece}*"
                if styles.get("code"):
                    piece = f"`{piece}`"
                text += piece
        kind = block.get("type")
        if kind == "heading":
            level = (block.get("props") or {}).get("level", 1)
            lines.append("#" * int(level) + " " + text)
        elif kind == "bulletListItem":
            lines.append("- " + text)
        elif kind == "numberedListItem":
            lines.append("1. " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines)

"""A tool result's value: structured content when the server sent it, else its blocks as plain JSON.

Binary payloads (images, audio, blobs) never reach the value: a block keeps
its type, MIME type and decoded size, so an observation stays small and the
model still learns what came back.
"""

from __future__ import annotations

from typing import Any

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
)

__all__ = ["error_text", "result_value"]


def result_value(result: CallToolResult) -> Any:
    """The value of a successful result.

    ``structured_content`` when present; otherwise one block's rendering for
    a single block, a list of them for several (``[]`` for none). A text
    block renders as its string.
    """
    if result.structured_content is not None:
        return result.structured_content
    blocks = [render_block(block) for block in result.content]
    return blocks[0] if len(blocks) == 1 else blocks


def error_text(result: CallToolResult) -> str:
    """The server's text for an ``is_error`` result: its text blocks, one per line."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    return "\n".join(texts) if texts else "the server reported an error without a message"


def render_block(block: ContentBlock) -> Any:
    """One content block as plain JSON: text as a string, anything binary as a small dict."""
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent | AudioContent):
        return {"type": block.type, "mime_type": block.mime_type, "size": _decoded_size(block.data)}
    if isinstance(block, ResourceLink):
        return {"type": "resource_link", "uri": block.uri, "name": block.name, "mime_type": block.mime_type}
    if isinstance(block, EmbeddedResource):
        contents = block.resource
        if isinstance(contents, BlobResourceContents):
            return {
                "type": "resource",
                "uri": contents.uri,
                "mime_type": contents.mime_type,
                "size": _decoded_size(contents.blob),
            }
        return {"type": "resource", "uri": contents.uri, "mime_type": contents.mime_type, "text": contents.text}
    return {"type": str(getattr(block, "type", "unknown"))}


def _decoded_size(data: str) -> int:
    """Bytes that ``data`` (base64) decodes to, without decoding it."""
    stripped = data.rstrip("=")
    return len(stripped) * 3 // 4

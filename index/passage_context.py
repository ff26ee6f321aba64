"""The context written before a passage in the indexes: its document's title and heading path.

A passage rarely repeats its section's title ("Run it daily." under "8.1 What package
management tools are provided?"), so its own words miss queries about the section. The
embedding and the BM25 terms of a text segment get "title > heading path" in front; the
stored passage that users see and answers quote stays as it was.
"""

from __future__ import annotations

from ingest.markdown import PATH_SEPARATOR


def passage_context(title: str | None, section: str | None) -> str:
    """Return "title > section" without repeating a title the path already starts with."""
    title = (title or "").strip()
    section = (section or "").strip()
    if not section:
        return title
    if not title or section.casefold().startswith(title.casefold()):
        return section
    return f"{title}{PATH_SEPARATOR}{section}"

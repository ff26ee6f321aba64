"""What an extractive answer may quote: no TOC lines, dot leaders, page marks, bare code."""

from __future__ import annotations

import pytest

from generate.quotable import quotable, repeated_lines


@pytest.mark.parametrize(
    "text",
    [
        "iii",
        "1.4 What is Debian GNU/Linux? . . . . . . . . . . . . 3",
        "Chapter 2 Installing the system .......... 14",
        "3.2 Installing packages from a mirror 17",
        "Page 3 of 10",
        "def linear(a, b): return lambda x: a * x + b",
        "x = {k: v for k, v in d.items()}",
        ">>> import os",
        "Item 5.",
    ],
)
def test_toc_lines_page_marks_code_and_fragments_are_not_quoted(text: str) -> None:
    assert not quotable(text)


@pytest.mark.parametrize(
    "text",
    [
        "A thermostat opens the valve at 80 degrees.",
        "Debian 12 was released in 2023 after two years of work.",
        "The /etc/apt/sources.list file lists the mirrors that apt uses.",
        "Use the reversed() built-in function: for x in reversed(sequence): print(x)",
    ],
)
def test_prose_and_code_introduced_by_a_sentence_are_quoted(text: str) -> None:
    assert quotable(text)


def test_a_line_on_several_sources_is_a_running_header() -> None:
    pages = [["Acme Manual v2", "Pumps move water."], ["Acme Manual v2", "Fans cool air."]]
    assert repeated_lines(pages) == {"Acme Manual v2"}

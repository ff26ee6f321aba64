"""A PDF manual with its headings intact, asked in other words: bench/answer.py's page set.

The Debian FAQ as the PDF that apt ``debian-faq`` installs (73 pages), ingested as it is:
headings, outline and contents pages untouched, as a user's manual would be. The questions
(``PARAPHRASES``, written for this bench) each ask what one outline entry answers, in the
words a user would use rather than the entry's own ("How do I stop apt from upgrading one
particular package?" for "How do I put a package on hold?"). So a source's heading *can*
fit the question, but only by meaning. Relevant pages: the entry's page to the page of the
next outline entry (as in bench/pdf_quality.py); a cited source is relevant when a page it
covers is one of them: the page citation a reader would follow.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pymupdf

from bench.pdf_quality import SOURCES, PdfLabel, ingest
from mmrag.domain import Hit
from mmrag.settings import Settings
from workers.runtime import Runtime

CORPUS = "debian-faq-pdf"
PARAPHRASES: dict[str, str] = {
    "How does one pronounce Debian and what does this word mean?":
        "Where does the distribution's name come from, and how do I say it?",
    "What is the latest version of Debian?": "Which release of the distribution is the newest?",
    "Where/how can I get the Debian installation images?":
        "Where can I download an ISO to put the system on a USB stick or a disc?",
    "Can I get and install Debian directly from a remote Internet site?":
        "Is it possible to set the system up over the network without any discs?",
    "Which Debian distribution (stable/testing/unstable) is better for me?":
        "Should I pick the conservative branch or the fast-moving one for my computer?",
    "I am currently tracking stable. Can I change to testing or unstable? If so, how?":
        "How do I move my machine from the stable branch to a newer one?",
    "What happens when a new release is made?":
        "What changes for my system on the day a new version comes out?",
    "On what hardware architectures/systems does Debian GNU/Linux run?":
        "Which processors and kinds of machines is the system available for?",
    "What kernels does Debian GNU/Linux run?":
        "Besides Linux, which operating system cores can it be built on?",
    "How should I install a non-Debian program?":
        "Where should software I compile myself go so that it does not clash with packaged files?",
    "Who wrote all that software?": "Who are the authors of the programs in the distribution?",
    "How can I install a developer's environment to build packages?":
        "What do I need to install to compile software and build my own packages?",
    '(How) Does Debian support Java?': "Can I run Java applications on it?",
    "How does Debian support non-English languages?":
        "Can I use the system in French or another language, with my country's keyboard?",
    "I have a wireless network card which doesn't work with Linux. What should I do?":
        "My Wi-Fi adapter is not recognised; how do I get it working?",
    "Where do these codenames come from?": "Why are the releases named after film characters?",
    "How do I set up my own apt-able repository?":
        "How can I host my own package archive that apt can install from?",
    "What is the format of a Debian binary package?":
        "What is inside a .deb file and how is it laid out?",
    "Why are Debian package file names so long?":
        "What do the parts of a package's file name, like the version and architecture, mean?",
    "What is a Virtual Package?":
        "What is a package name that several real packages can provide, like a mail server?",
    "How do I put a package on hold?": "How do I stop apt from upgrading one particular package?",
    "How do I install a source package?":
        "How do I download the source code of a package to look at it?",
    "How do I create Debian packages myself?":
        "Where do I start if I want to make a .deb of my own program?",
    "Debian claims to be able to update a running program; how is this accomplished?":
        "How can a program be upgraded while it is still running?",
    "How can I tell what packages are already installed on a Debian system?":
        "How do I list all the software installed on my machine?",
    "How do I display the files of an installed package?":
        "Which command shows every file that a package put on my disk?",
    "How can I find out what package produced a particular file?":
        "How do I find which package a given file on my system came from?",
    "Must I go into single user mode in order to upgrade a package?":
        "Do I need to reboot or stop everything to apply updates?",
    "Do I have to keep all those .deb archive files on my disk?":
        "Can I delete the downloaded package files to free disk space?",
    "Can I automatically update the system?":
        "Is there a way to have updates installed unattended every night?",
    "I have several machines; how can I download the updates only one time?":
        "How can several computers on my network share one download of the updates?",
    "Can I safely de-install an old kernel package, and if so, how?":
        "Is it fine to remove the Linux images of previous versions, and how?",
    "How can I ensure that all programs use the same paper size?":
        "How do I make every application print on A4 by default?",
    "How do I load a console font on startup the Debian way?":
        "How do I change the font of the text console at boot?",
    "How do I override a file installed by a package, so that a different version can be "
    "used instead?":
        "How can I replace a file shipped by a package with my own copy that upgrades keep?",
    "How do I report a bug in Debian?":
        "Where and how do I tell the developers about a problem I found?",
    "How can I become a Debian member/Debian developer?":
        "What is the process to join the project as a developer?",
    "How can I contribute financially to the Debian project?":
        "How can I donate money to the project?",
    "Can I make and sell Debian CDs?": "Am I allowed to sell discs with the distribution on them?",
    "Are there logs of known bugs?": "Where can I see the problems that were already reported?",
    "What is an Essential, Required, Important, Standard, Optional, or Extra package?":
        "What do the priority levels of packages mean?",
    "What is meant by Pre-Depends?":
        "What kind of dependency must be configured before a package is even unpacked?",
}  # fmt: skip


def pdf_labels() -> tuple[Path, list[PdfLabel]]:
    """Return the FAQ PDF's path and one label per paraphrase (its entry's pages)."""
    source = SOURCES["debian-faq"]
    if not source.exists():
        raise FileNotFoundError(f"{source}: apt-get install -y debian-faq")
    doc = pymupdf.open(stream=gzip.decompress(source.read_bytes()), filetype="pdf")
    toc = doc.get_toc()
    labels = []
    for index, (_level, title, page) in enumerate(toc):
        if title.strip() in PARAPHRASES:
            last = toc[index + 1][2] if index + 1 < len(toc) else doc.page_count
            pages = frozenset(range(page, max(last, page) + 1))
            labels.append(PdfLabel(CORPUS, PARAPHRASES[title.strip()], pages))
    missing = len(PARAPHRASES) - len(labels)
    if missing:
        raise RuntimeError(f"{missing} paraphrased titles are not in the FAQ's outline")
    return source, labels


def prepare_pdf(workdir: Path) -> tuple[Runtime, list[PdfLabel], dict[str, object]]:
    """Ingest the FAQ PDF into ``workdir/pdf`` (or reuse a finished ingestion there)."""
    source, labels = pdf_labels()
    data_dir = workdir / "pdf"
    marker = data_dir / "bench-answer-pdf.done"
    reuse = marker.exists()
    if not reuse and data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} holds an unfinished ingestion: remove it")
    rt = Runtime.open(Settings(data_dir=data_dir, spaces=["text"], offline=True))
    seconds = 0.0
    if not reuse:
        pdf = data_dir / "debian-faq.en.pdf"
        pdf.write_bytes(gzip.decompress(source.read_bytes()))
        seconds = ingest(rt, [pdf])
        marker.write_text("ok")
    info = {"pages": 1, "segments": rt.bm25.count(), "reused": reuse,
            "ingest_seconds": round(seconds, 1)}  # fmt: skip
    return rt, labels, info


def on_pages(hit: Hit, label: PdfLabel) -> bool:
    """Return True when ``hit`` covers one of ``label``'s pages."""
    locator = hit.segment.locator
    pages = {locator.page} | {box.page for box in locator.boxes or ()}
    return bool(pages & label.pages)

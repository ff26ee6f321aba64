"""Deterministic sample corpus: PDFs with text and images, plus text, HTML and image files.

Nothing is downloaded: every file is generated from a seeded random generator, so two runs
with the same arguments write the same content. Each PDF page carries a numbered heading
and several paragraphs about one technical topic (cooling systems, networking, gardening,
astronomy, ...) with concrete figures, so searches have distinct answers; every few pages
also carry a raster picture made with Pillow (gradients and shapes, >= 200 px).

    python bench/corpus.py --out DIR [--pdfs N --pages-per-pdf P] [--no-extras]

As a module: :func:`write_corpus` (and :func:`write_pdf`) return the paths written.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Topic:
    """Vocabulary of one subject: the words that make its sentences distinct."""

    name: str
    things: tuple[str, ...]
    actions: tuple[str, ...]
    qualities: tuple[str, ...]
    units: tuple[str, ...]


TOPICS = (
    Topic(
        "Cooling systems",
        ("coolant loop", "heat exchanger", "chiller", "radiator", "pump impeller",
         "cold plate", "expansion tank", "thermostat valve", "condenser coil"),
        ("circulates", "absorbs", "rejects heat from", "regulates", "pressurises"),
        ("glycol-based", "closed", "redundant", "low-noise", "corrosion-resistant"),
        ("litres per minute", "degrees Celsius", "kilowatts", "bar"),
    ),
    Topic(
        "Networking",
        ("edge router", "VLAN trunk", "spanning tree", "BGP session", "packet buffer",
         "load balancer", "fibre uplink", "DNS resolver", "firewall rule"),
        ("forwards", "drops", "encapsulates", "negotiates", "throttles"),
        ("redundant", "latency-sensitive", "stateful", "multicast", "encrypted"),
        ("gigabits per second", "milliseconds", "packets per second", "hops"),
    ),
    Topic(
        "Gardening",
        ("tomato seedling", "compost heap", "raised bed", "drip irrigation line",
         "rose cutting", "mulch layer", "clay soil", "herb border", "greenhouse vent"),
        ("nourishes", "shelters", "drains", "protects", "germinates beside"),
        ("organic", "well-drained", "shaded", "frost-hardy", "acidic"),
        ("centimetres", "days", "litres per week", "grams per square metre"),
    ),
    Topic(
        "Astronomy",
        ("refracting telescope", "spiral galaxy", "red dwarf", "Jupiter's moons",
         "meteor shower", "equatorial mount", "variable star", "nebula", "eyepiece"),
        ("reveals", "tracks", "orbits", "outshines", "eclipses"),
        ("faint", "distant", "binary", "circumpolar", "dust-rich"),
        ("light years", "arcseconds", "magnitudes", "millimetres of aperture"),
    ),
    Topic(
        "Battery chemistry",
        ("lithium iron phosphate cell", "anode coating", "separator film", "electrolyte",
         "battery management board", "cathode slurry", "cell balancer", "thermal fuse"),
        ("stores", "limits", "degrades", "balances", "isolates"),
        ("high-density", "solid-state", "fire-retardant", "cycled", "prismatic"),
        ("milliamp hours", "volts", "charge cycles", "watt hours per kilogram"),
    ),
    Topic(
        "Baking",
        ("sourdough starter", "rye flour", "proofing basket", "steam tray", "crumb",
         "laminated dough", "oven stone", "levain", "butter block"),
        ("ferments", "browns", "leavens", "hydrates", "crisps"),
        ("wholegrain", "airy", "caramelised", "tangy", "open-textured"),
        ("grams", "minutes", "percent hydration", "degrees Celsius"),
    ),
    Topic(
        "Railway signalling",
        ("axle counter", "interlocking", "track circuit", "signal aspect", "balise",
         "level crossing barrier", "points machine", "block section", "train detector"),
        ("protects", "releases", "detects", "locks", "clears"),
        ("fail-safe", "electronic", "relay-based", "bidirectional", "automatic"),
        ("metres", "seconds", "kilometres per hour", "trains per hour"),
    ),
    Topic(
        "Beekeeping",
        ("queen excluder", "brood frame", "smoker", "honey super", "worker bee",
         "propolis seal", "varroa mite board", "swarm cell", "wax foundation"),
        ("guards", "forages near", "caps", "ventilates", "inspects"),
        ("gentle", "overwintering", "productive", "queenless", "strong"),
        ("kilograms", "frames", "bees per colony", "days"),
    ),
)  # fmt: skip

_OPENERS = (
    "In practice, the {q} {t} {a} the {t2}, which keeps the whole assembly stable.",
    "{aq} {t} typically {a} the {t2} at around {n} {u}.",
    "Field notes show that the {t} {a} the {t2} more reliably when it is {q}.",
    "Engineers measured {n} {u} at the {t} during the third trial.",
    "If the {t2} is {q}, the {t} {a} it within {n} {u}.",
    "The manual recommends checking the {t} whenever the {t2} reaches {n} {u}.",
    "Unlike {aq} {t2}, the {t} {a} the load evenly across the system.",
    "Most failures of the {t} start at the {t2}, so inspect it every {n} {u}.",
)
_HEADINGS = ("Overview of the {t}", "Maintaining the {t}", "How the {t} works",
             "Measuring the {t}", "Troubleshooting the {t}", "Choosing {aq} {t}")  # fmt: skip
_PAGE = pymupdf.paper_rect("a4")
_MARGIN = 56.0


def sentence(rng: random.Random, topic: Topic) -> str:
    """Return one sentence about ``topic`` with a concrete figure."""
    t, t2 = rng.sample(topic.things, 2)
    q = rng.choice(topic.qualities)
    text = rng.choice(_OPENERS).format(
        t=t, t2=t2, a=rng.choice(topic.actions), q=q, aq=_article(q),
        n=rng.randint(2, 950), u=rng.choice(topic.units),
    )  # fmt: skip
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random, topic: Topic) -> str:
    """Return a paragraph of 3-6 sentences about ``topic``."""
    return " ".join(sentence(rng, topic) for _ in range(rng.randint(3, 6)))


def heading(rng: random.Random, topic: Topic, number: str) -> str:
    """Return a numbered section heading about ``topic``."""
    q = rng.choice(topic.qualities)
    text = rng.choice(_HEADINGS).format(t=rng.choice(topic.things), q=q, aq=_article(q))
    return f"{number} {text}"


def picture(rng: random.Random, width: int = 320, height: int = 240) -> Image.Image:
    """Return an RGB picture: a two-colour gradient with a few filled shapes on it."""
    start, end = (_colour(rng) for _ in range(2))
    mask = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((width, height))
    first, second = Image.new("RGB", mask.size, start), Image.new("RGB", mask.size, end)
    image = Image.composite(first, second, mask)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 7)):
        x0, y0 = rng.randrange(width - 40), rng.randrange(height - 40)
        box = (x0, y0, x0 + rng.randint(20, width // 2), y0 + rng.randint(20, height // 2))
        shape = rng.choice((draw.ellipse, draw.rectangle))
        shape(box, fill=_colour(rng), outline=(0, 0, 0))
    return image


def encode(image: Image.Image, fmt: str) -> bytes:
    """Return ``image`` encoded as PNG or JPEG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write_pdf(path: Path, rng: random.Random, pages: int, image_every: int = 3) -> int:
    """Write a ``pages``-page PDF on one topic per chapter; return how many pages it has."""
    doc = pymupdf.open()
    doc.set_metadata({"title": path.stem.replace("-", " ").title(), "author": "mmrag bench"})
    topic = rng.choice(TOPICS)
    for number in range(1, pages + 1):
        if number % 5 == 1:  # a new chapter, often on a new topic
            topic = rng.choice(TOPICS)
        page = doc.new_page(width=_PAGE.width, height=_PAGE.height)
        _fill_page(page, rng, topic, number, with_image=number % image_every == 1)
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return pages


def _fill_page(
    page: pymupdf.Page, rng: random.Random, topic: Topic, number: int, *, with_image: bool
) -> None:
    """Lay out a heading, paragraphs and optionally a picture on ``page``."""
    width = _PAGE.width - 2 * _MARGIN
    page.insert_text((_MARGIN, _MARGIN + 10), heading(rng, topic, f"{number}."), fontsize=16)
    top = _MARGIN + 30
    if with_image:
        image = picture(rng, rng.randint(240, 400), rng.randint(200, 300))
        fmt = rng.choice(("PNG", "JPEG"))
        rect = pymupdf.Rect(_MARGIN, top, _MARGIN + width * 0.6, top + width * 0.45)
        page.insert_image(rect, stream=encode(image, fmt), keep_proportion=True)
        top = rect.y1 + 12
    for _ in range(rng.randint(3, 5)):
        text = paragraph(rng, topic)
        box = pymupdf.Rect(_MARGIN, top, _MARGIN + width, _PAGE.height - _MARGIN)
        left = page.insert_textbox(box, text, fontsize=10, fontname="helv")
        if left < 0:  # did not fit (nothing was written): try a short one, then stop
            left = page.insert_textbox(box, sentence(rng, topic), fontsize=10, fontname="helv")
            if left < 0:
                break
        top = box.y1 - left + 10


def write_extras(out: Path, rng: random.Random) -> list[Path]:
    """Write a few .txt, .md, .html files and .png/.jpg images (some with text on them)."""
    written = []
    for index, topic in enumerate(TOPICS[:3]):
        body = [paragraph(rng, topic) for _ in range(4)]
        written.append(_write(out / f"notes-{index}.txt", "\n\n".join(body)))
        md = [f"# {topic.name}", "", body[0], "", f"## {heading(rng, topic, '1.')}", "", body[1]]
        written.append(_write(out / f"guide-{index}.md", "\n".join(md)))
        html = "".join(f"<p>{p}</p>" for p in body)
        page = f"<html><head><title>{topic.name}</title></head><body><h1>{topic.name}</h1>"
        written.append(_write(out / f"page-{index}.html", f"{page}{html}</body></html>"))
    for index, topic in enumerate(TOPICS[3:6]):
        image = picture(rng, 760, 360)
        _draw_caption(image, f"{topic.things[0].upper()} {rng.randint(10, 99)}")
        path = out / f"photo-{index}.{'png' if index % 2 == 0 else 'jpg'}"
        path.write_bytes(encode(image, "PNG" if index % 2 == 0 else "JPEG"))
        written.append(path)
    plain = out / "shapes.png"
    plain.write_bytes(encode(picture(rng, 256, 256), "PNG"))
    return [*written, plain]


def _draw_caption(image: Image.Image, text: str) -> None:
    """Draw ``text`` large and dark on a white band, so OCR can read it."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=36)
    draw.rectangle((0, image.height - 70, image.width, image.height), fill=(255, 255, 255))
    x = 16.0
    for word in text.split():  # wide gaps: OCR models merge words set at normal spacing
        draw.text((x, image.height - 60), word, fill=(0, 0, 0), font=font)
        x += draw.textlength(word, font=font) + 36


def write_corpus(
    out: Path, *, pdfs: int = 3, pages_per_pdf: int = 5, extras: bool = True, seed: int = 7
) -> list[Path]:
    """Write the corpus under ``out``; return the files written, PDFs first."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for index in range(pdfs):
        topic = TOPICS[index % len(TOPICS)].name.lower().replace(" ", "-")
        path = out / f"{index:04d}-{topic}.pdf"
        write_pdf(path, rng, pages_per_pdf)
        paths.append(path)
    if extras:
        paths.extend(write_extras(out, rng))
    return paths


def _write(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _article(word: str) -> str:
    """Return ``word`` with its indefinite article."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
    parser.add_argument("--pdfs", type=int, default=3, help="Number of PDFs (default 3).")
    parser.add_argument("--pages-per-pdf", type=int, default=5, help="Pages each (default 5).")
    parser.add_argument("--no-extras", action="store_true", help="PDFs only.")
    parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
    args = parser.parse_args(argv)
    paths = write_corpus(
        args.out, pdfs=args.pdfs, pages_per_pdf=args.pages_per_pdf,
        extras=not args.no_extras, seed=args.seed,
    )  # fmt: skip
    print(f"wrote {len(paths)} files ({args.pdfs * args.pages_per_pdf} PDF pages) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

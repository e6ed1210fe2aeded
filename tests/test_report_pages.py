"""The committed report's pages read like a results section (issue 13), checked by parsing
the HTML in reports/ (no rendering here; --check and test_report.py keep reports/ current):
every displayed table is a formatted table (no pandas index, no scientific notation, no
0.000000, APA p-values), no monospace printout, numbered captions, alt text on every
image, and the bundled report shows no singular fit."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "reports").glob("[0-9][0-9]-*.html"),
                *(ROOT / "reports").glob("design-*.html")])


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cells, self.imgs, self.pre, self.captions = [], [], [], [], []
        self._in_td = self._in_pre = False
        self._buf = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append(a.get("class", ""))
        if tag in ("td", "th"):
            self._in_td, self._buf = True, ""
        if tag == "img":
            self.imgs.append(a)
        if tag == "pre":
            self._in_pre, self._buf = True, ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in_td:
            self.cells.append(self._buf.strip())
            self._in_td = False
        if tag == "pre" and self._in_pre:
            self.pre.append(self._buf)
            self._in_pre = False

    def handle_data(self, data):
        if self._in_td or self._in_pre:
            self._buf += data
        for m in re.finditer(r"(Table|Figure) \d+\.", data):
            self.captions.append(m.group(0))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_tables_numbers_and_images(page):
    p = _Cells()
    p.feed(page.read_text(encoding="utf-8"))
    assert p.tables and all("hs-table" in c for c in p.tables), "a raw pandas table"
    sci = [c for c in p.cells if re.fullmatch(r"[−-]?\d+(\.\d+)?[eE][+-]?\d+", c)]
    assert not sci, sci
    assert not [c for c in p.cells if re.fullmatch(r"[−-]?0\.0{5,}", c)]
    assert not [c for c in p.cells if c in ("NaN", "nan", "None")]
    long_pre = [t for t in p.pre if t.strip().count("\n") >= 1]
    assert not long_pre, long_pre[:1]
    assert p.imgs and all(i.get("alt", "").startswith("Figure ") for i in p.imgs)
    assert any(c.startswith("Table 1.") for c in p.captions)


def test_page_01_apa_p_values_and_no_singular_fit():
    text = (ROOT / "reports" / "01-strength-and-function.html").read_text(encoding="utf-8")
    assert "&lt; .001" in text
    assert "maximal random part (1 + week | subject) was reported: its fit is not singular" in text
    assert not re.search(r"singular fit \(|WARNING: singular", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_title_is_its_heading_in_the_index(page):
    """Browser tabs and bookmarks show the page's title (the index's link text), not
    nbconvert's default "Notebook"."""
    import html

    title = html.unescape(re.search(r"<title>([^<]*)</title>",
                                    page.read_text(encoding="utf-8")).group(1))
    index = html.unescape((ROOT / "reports" / "index.html").read_text(encoding="utf-8"))
    assert title != "Notebook" and f'href="{page.name}">{title}</a>' in index


#: A machine name: snake_case (``pain_vas``, ``function_score_bl``); prose says labels.
MACHINE_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]\b")


def machine_names(markdown: str) -> list[str]:
    """Machine names in Markdown prose, code spans (`mmrm(...)`, a file's own column
    names) left out."""
    return MACHINE_NAME.findall(re.sub(r"`[^`]*`", " ", markdown))


class _Prose(HTMLParser):
    """Text a reader reads as sentences: everything but table cells, code, preformatted
    output, styles, scripts and the <title>."""

    SKIP = {"td", "th", "code", "pre", "style", "script", "title"}

    def __init__(self):
        super().__init__()
        self.depth, self.text = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP and self.depth > 0

    def handle_data(self, data):
        if not self.depth:
            self.text.append(data)


def test_machine_names_are_found_outside_code():
    assert machine_names("Change in pain_vas over weeks; In R: `mmrm(pain_vas ~ 1)`.") == [
        "pain_vas"]
    p = _Prose()
    p.feed("<p>Function (AKPS): points; body_mass</p><code>akps_bl</code><td>pain_vas</td>")
    assert machine_names(" ".join(p.text)) == ["body_mass"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_prose_names_measures_by_their_labels(page):
    """Headings, sentences, captions and notes say "Pain (VAS)", never ``pain_vas``: a
    machine name may appear only in a table cell or as code (an R call, a file's column)."""
    p = _Prose()
    p.feed(page.read_text(encoding="utf-8"))
    found = sorted(set(machine_names(" ".join(p.text))))
    assert not found, found

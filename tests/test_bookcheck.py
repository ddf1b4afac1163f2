"""``replicate book-check`` on tiny hand-written pages: each fault is caught and named, a clean page
passes and gets its screenshot. Needs the system Chromium (CI installs it: ``make system``)."""
import shutil

import pytest
from PIL import Image

from replicate import bookcheck, cli

HAVE_BROWSER = bool(bookcheck._which("CHROME_BIN", bookcheck.BROWSERS)
                    and bookcheck._which("CHROMEDRIVER", bookcheck.DRIVERS))
NO_BROWSER = "no chromium + chromedriver on PATH (make system installs them)"


def needs_browser(test):
    """Skip ``test`` without the system Chromium; mark it ``slow`` (a browser start, a few s)."""
    return pytest.mark.slow(pytest.mark.skipif(not HAVE_BROWSER, reason=NO_BROWSER)(test))

# The book theme's frame: a 700 px text column, as article.bd-article is at 1280 px.
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{name}</title>
<style>body {{margin: 0; font-family: sans-serif}} article.bd-article {{width: 700px; margin-left: 250px}}
.output.text_html {{overflow-x: auto}} img {{max-width: 100%}}</style></head>
<body><main><article class="bd-article"><h1 id="top-title">{name}</h1>
{body}
</article></main></body></html>"""

NORMAL_TABLE = ("<table><tr><th>row</th><th>top-1</th></tr>"
                "<tr><td>baseline</td><td>39.95</td></tr></table>")
PAGES = {
    "clean": (NORMAL_TABLE + '<div class="cell_output"><div class="output text_html">'
              + NORMAL_TABLE + '</div><div class="output stream"><pre>hello</pre></div></div>'
              '<figure><img src="fig.png" alt="a wide figure, scaled to the column">'
              "<figcaption>Figure 1</figcaption></figure>"
              '<p id="here"><a href="#here">self</a> <a href="other.html#sec">other</a> '
              '<a href="other.html">other page</a> <a href="#">top</a> '
              '<a href="https://example.org/">outside</a> <a href="fig.png">figure file</a></p>'
              # a long printed command in a code listing scrolls sideways, as code blocks do
              '<div class="cell_output"><div class="highlight" style="overflow-x: auto"><pre>'
              + "replicate run " + "x" * 400 + "</pre></div></div>"),
    "other": '<h2 id="sec">A section</h2><p>text</p>',
    "wide": '<table style="width: 3000px"><tr><th>a very wide table</th></tr></table>',
    "wide_scroll": ('<div class="cell_output"><div class="output text_html">'
                    '<table style="width: 3000px"><tr><th>wide in its scroll box</th></tr>'
                    "</table></div></div>"),
    "broken_img": '<p>before</p><img src="missing.png" alt="gone"><p>after</p>',
    "missing_link": ('<p><a href="nowhere.html">a page that is not built</a> '
                     '<a href="other.html#no-such-section">a section that is not there</a> '
                     '<a href="#nor-here">nor here</a></p>'),
    "traceback": ('<div class="cell_output"><div class="output stderr"><pre>'
                  "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                  "ValueError: bad record</pre></div></div>"),
}


def write_book(folder, names):
    """The pages ``names`` of :data:`PAGES` in ``folder`` (with the figure they use)."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2000, 300), "steelblue").save(folder / "fig.png")
    for name in names:
        (folder / f"{name}.html").write_text(FRAME.format(name=name, body=PAGES[name]))
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One check of a book holding every page: the report, one browser for all the tests."""
    if not HAVE_BROWSER:
        pytest.skip(NO_BROWSER)
    book = write_book(tmp_path_factory.mktemp("book"), list(PAGES))
    return bookcheck.check_book(book)


def lines(report, page):
    return [str(p) for p in report.problems if p.page == page]


@needs_browser
def test_a_3000px_table_fails_naming_the_page_and_its_widths(mixed):
    wide = lines(mixed, "wide.html")
    assert len(wide) == 1 and "table #1" in wide[0] and "past the text column" in wide[0]
    assert "width 3000 px" in wide[0]
    boxed = lines(mixed, "wide_scroll.html")
    assert len(boxed) == 1 and "table #1" in boxed[0] and "scroll container" in boxed[0]
    assert "scrollWidth 3000 > clientWidth 700" in boxed[0]


@needs_browser
def test_a_broken_image_fails(mixed):
    (line,) = lines(mixed, "broken_img.html")
    assert "missing.png" in line and "naturalWidth 0" in line


@needs_browser
def test_missing_local_link_targets_fail(mixed):
    got = lines(mixed, "missing_link.html")
    assert len(got) == 3
    assert any("nowhere.html does not exist" in l for l in got)
    assert any("'no-such-section' in other.html" in l for l in got)
    assert any("'nor-here' in missing_link.html" in l for l in got)


@needs_browser
def test_a_traceback_in_a_cell_output_fails(mixed):
    (line,) = lines(mixed, "traceback.html")
    assert line.startswith("traceback.html: div") and "Python error: Traceback" in line


@needs_browser
def test_clean_pages_pass_and_every_page_gets_a_full_page_screenshot(mixed, tmp_path):
    assert lines(mixed, "clean.html") == [] and lines(mixed, "other.html") == []
    assert len(mixed.problems) == 7
    assert sorted(p.name for p in mixed.screenshots) == sorted(f"{n}.png" for n in PAGES)
    with Image.open(mixed.screenshots[0]) as shot:
        assert shot.width >= 1200 and shot.height >= 100


@needs_browser
def test_the_command_passes_a_clean_book_and_fails_a_broken_one(tmp_path, capsys):
    write_book(tmp_path / "ok" / "_build" / "html", ["clean", "other"])
    assert cli.main(["book-check", "--build", str(tmp_path / "ok")]) == 0
    assert (tmp_path / "ok" / "screenshots" / "clean.png").stat().st_size > 1000
    write_book(tmp_path / "bad", ["wide"])
    assert cli.main(["book-check", "--build", str(tmp_path / "bad")]) == 1
    assert capsys.readouterr().out.startswith("wide.html: table #1")


def test_bad_input_is_one_line_with_status_2(tmp_path, capsys):
    assert cli.main(["book-check", "--build", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no built HTML pages" in err


def test_pages_skip_underscore_folders_and_redirect_stubs(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.html").write_text("<p>x</p>")
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (tmp_path / "intro.html").write_text("<p>intro</p>")
    assert [p.name for p in bookcheck.book_pages(bookcheck.html_root(tmp_path))] == ["intro.html"]


def test_no_browser_is_one_line(monkeypatch, tmp_path):
    write_book(tmp_path, ["other"])
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROME_BIN", raising=False)
    monkeypatch.delenv("CHROMEDRIVER", raising=False)
    assert shutil.which("chromium") is None
    assert cli.main(["book-check", "--build", str(tmp_path)]) == 2

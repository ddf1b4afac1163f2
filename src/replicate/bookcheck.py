"""``replicate book-check``: the built book as a reader sees it, in headless Chromium.

Every HTML page of a built book (``<build>/_build/html``, or a folder of pages) is opened at
1280 × 900 px in the system's Chromium (driven by selenium through the system ``chromedriver``;
no browser is downloaded; every http(s) request is blocked so the check is the same offline),
a full-page screenshot is saved to ``<build>/screenshots/<page>.png``, and the page fails on:

- **overflow**: a table, figure, image, SVG or cell output (``.cell_output``, and any scroll box
  inside one) wider than the room it is given. Each such element is measured three ways: its own
  ``scrollWidth > clientWidth`` (content hidden in the element itself), that of its nearest
  scroll container between it and the text column (``overflow-x`` not ``visible``: the content
  sits behind a horizontal scrollbar), and its box (or its scroll container's) reaching past the
  text column's right edge (``article.bd-article`` in the book's theme, else ``main``, else
  ``body``), which catches a wide table that no container clips. 1 px of rounding is allowed;
  elements inside ``.full-width``, ``.margin`` or ``.sidebar`` may use the margin, and a code
  listing (``.highlight``, e.g. a printed command) may scroll sideways as code blocks do.
- **a broken image**: a local ``<img>`` with ``naturalWidth`` 0 once loading has settled;
- **a broken local link**: an ``<a href>`` to a local file that does not exist, or to an
  ``#anchor`` that no element of its target page (this page or another) defines;
- **a Python error**: a cell output (or an ``.output_error`` / ``.traceback`` / ``.stderr``
  element) that is a traceback, or whose text shows ``Traceback (most recent call last)`` or a
  line ``SomeError: ...``.

Each problem is one line ``page: element: what`` on stdout; the exit status is 1 if there is any,
0 if none, 2 on bad input (no built pages, no Chromium) with one line on stderr.
"""
from __future__ import annotations

import argparse
import html.parser
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

#: The viewport every page is checked at (CSS px).
WIDTH, HEIGHT = 1280, 900
#: Chromium and chromedriver executables tried in order (``CHROME_BIN`` / ``CHROMEDRIVER`` first).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver",)
#: Fragments that need no element (``#`` alone and ``#top`` scroll to the top).
_FREE_FRAGMENTS = {"", "top"}

# Runs in the page; returns {overflow: [...], errors: [...], links: [...], ids: [...]}.
_MEASURE_JS = r"""
const col = document.querySelector('article.bd-article') || document.querySelector('main')
  || document.body;
const colRight = col.getBoundingClientRect().right, tol = 1, out = [];
const free = e => e.closest('.full-width, .margin, .sidebar, aside');
function label(e, short) {
  const same = Array.from(col.querySelectorAll(e.tagName)).indexOf(e) + 1;
  let s = e.tagName.toLowerCase() + (same > 0 ? ' #' + same : '');
  if (e.id) s += ' id=' + e.id;
  const cls = (e.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean).slice(0, 2);
  if (cls.length) s += ' .' + cls.join('.');
  if (short) return s;
  let t = e.tagName === 'IMG' ? (e.getAttribute('src') || '') : '';
  if (e.tagName === 'TABLE') t = Array.from(e.querySelectorAll('th')).slice(0, 4)
    .map(x => x.innerText.trim()).filter(Boolean).join(' | ');
  if (!t && (e.tagName === 'PRE' || e.tagName === 'DIV')) t = (e.textContent || '').trim();
  if (!t && e.closest('figure')) { const c = e.closest('figure').querySelector('figcaption');
    if (c) t = c.innerText.trim(); }
  t = t.replace(/\s+/g, ' ');
  if (t) s += ' "' + (t.length > 60 ? t.slice(0, 57) + '...' : t) + '"';
  return e.closest('details:not([open])') ? s + ' (in a closed dropdown)' : s;
}
function scrollBox(e) {
  for (let p = e.parentElement; p && p !== col && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return p;
  }
  return null;
}
const seen = new Set();
// figures and tables first, so that a scroll box is named by the table it hides
const els = Array.from(col.querySelectorAll('table, figure, img, svg')).concat(
  Array.from(col.querySelectorAll('.cell_output, .cell_output pre, .cell_output div')));
for (const e of els) {
  if ((e.tagName === 'svg' && e.parentElement.closest('svg')) || e.closest('button')) continue;
  if (e.closest('.highlight')) continue;  // a code listing scrolls sideways like any code block
  if (e.tagName === 'DIV' && !e.matches('.cell_output')
      && getComputedStyle(e).overflowX === 'visible') continue;
  const lab = label(e);
  if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + tol && !seen.has(e)) {
    seen.add(e);
    out.push({el: lab, what: 'content wider than the element (scrollWidth ' + e.scrollWidth
      + ' > clientWidth ' + e.clientWidth + ')'});
  }
  const box = scrollBox(e);
  if (box && box.scrollWidth > box.clientWidth + tol && !seen.has(box)) {
    seen.add(box);
    out.push({el: lab, what: 'overflows its scroll container ' + label(box, true) + ' (scrollWidth '
      + box.scrollWidth + ' > clientWidth ' + box.clientWidth + ')'});
  }
  const outer = box || e, r = outer.getBoundingClientRect();
  if (!free(e) && r.width > 0 && r.right > colRight + tol && !seen.has(outer)) {
    seen.add(outer);
    out.push({el: lab, what: 'extends ' + Math.round(r.right - colRight) + ' px past the text column'
      + ' (width ' + Math.round(r.width) + ' px, column ' + label(col, true) + ' ends at x='
      + Math.round(colRight) + ')'});
  }
}
return {overflow: out, errors: pyErrors(), links: links(), ids: ids(),
        images: Array.from(document.images).filter(i => i.src.startsWith('file:'))
          .filter(i => i.naturalWidth === 0).map(i => ({el: label(i), src: i.getAttribute('src')}))};

function pyErrors() {
  const sel = '.cell_output, .output_error, .traceback, .stderr, .output_stderr';
  const all = Array.from(document.querySelectorAll(sel));
  const top = all.filter(e => !all.some(o => o !== e && o.contains(e)));
  const res = [];
  for (const e of top) {
    const cls = e.matches('.output_error, .traceback')
      || e.querySelector('.output_error, .traceback');
    const txt = e.innerText || '';
    const m = txt.match(/Traceback \(most recent call last\)/)
      || txt.match(/^\s*(\w+\.)*[A-Z]\w*(Error|Exception)(:.*)?$/m);
    if (cls || m) res.push({el: label(e), what: 'shows a Python error: '
      + ((m ? m[0] : txt.split('\n').find(l => l.trim())) || '').trim().slice(0, 100)});
  }
  return res;
}
function links() {
  return Array.from(document.querySelectorAll('a[href]'))
    .map(a => ({href: a.getAttribute('href'), url: a.href, text: a.innerText.trim().slice(0, 40)}))
    .filter(l => l.url.startsWith('file:'));
}
function ids() {
  return Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name);
}
"""

# Awaits every image (lazy ones made eager) before measuring; calls back with nothing.
_SETTLE_JS = r"""
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
const wait = imgs.map(i => i.complete ? Promise.resolve() : new Promise(r => {
  i.addEventListener('load', r); i.addEventListener('error', r); }));
const fonts = document.fonts ? document.fonts.ready : Promise.resolve();
Promise.race([Promise.all(wait.concat([fonts])), new Promise(r => setTimeout(r, 10000))])
  .then(() => requestAnimationFrame(() => done(null)));
"""


@dataclass
class Problem:
    """One thing wrong with one page: printed as ``page: element: what``."""

    page: str
    element: str
    what: str

    def __str__(self) -> str:
        return f"{self.page}: {self.element}: {self.what}"


@dataclass
class Report:
    """The outcome of :func:`check_book`: every problem, the pages looked at, the screenshots."""

    pages: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


class BookCheckError(Exception):
    """Bad input or no browser: reported as one line, exit status 2."""


def html_root(build: str | Path) -> Path:
    """The folder of built pages for ``build``: ``<build>/_build/html`` (what ``replicate book
    --build`` writes), ``<build>/html``, or ``build`` itself when it holds ``.html`` files."""
    build = Path(build)
    for cand in (build / "_build" / "html", build / "html", build):
        if cand.is_dir() and any(cand.glob("*.html")):
            return cand
    raise BookCheckError(f"no built HTML pages under {build} (build the book first: "
                         f"replicate book --build {build})")


def book_pages(root: Path) -> list[Path]:
    """Every ``.html`` page under ``root`` except in ``_static``-like folders (names with a
    leading underscore) and redirect stubs (a page with a ``http-equiv="refresh"``)."""
    pages = []
    for p in sorted(root.rglob("*.html")):
        rel = p.relative_to(root)
        if any(part.startswith("_") for part in rel.parts[:-1]):
            continue
        if 'http-equiv="refresh"' in p.read_text(errors="replace")[:2000].lower():
            continue
        pages.append(p)
    return pages


def _which(env: str, names: tuple[str, ...]) -> str | None:
    if os.environ.get(env):
        return shutil.which(os.environ[env])
    return next((shutil.which(n) for n in names if shutil.which(n)), None)


def open_browser(width: int = WIDTH, height: int = HEIGHT):
    """A headless Chromium (selenium WebDriver) with a ``width`` × ``height`` CSS-px viewport and
    every http(s) request blocked; the system ``chromium`` and ``chromedriver`` (or ``CHROME_BIN``,
    ``CHROMEDRIVER``). :class:`BookCheckError` says how to install what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BookCheckError("selenium is not installed (pip install -r requirements-lock.txt, "
                             "or pip install -e '.[check]')") from None
    binary, driver = _which("CHROME_BIN", BROWSERS), _which("CHROMEDRIVER", DRIVERS)
    if not binary or not driver:
        raise BookCheckError("no chromium/chromedriver on PATH (make system, or apt-get install "
                             "-y chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--allow-file-access-from-files", f"--window-size={width},{height}",
                "--force-device-scale-factor=1", "--disable-extensions", "--no-first-run"):
        opts.add_argument(arg)
    browser = webdriver.Chrome(options=opts, service=Service(executable_path=driver))
    browser.set_page_load_timeout(60)
    browser.set_script_timeout(30)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    return browser


def screenshot(browser, path: Path) -> Path:
    """Save a full-page PNG of the current page to ``path`` (Chrome DevTools, beyond the viewport)."""
    import base64

    metrics = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": max(1, int(size["width"])),
            "height": max(1, min(int(size["height"]), 30000)), "scale": 1}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": clip})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def measure_page(browser, page: Path) -> dict:
    """Open ``page``, wait for its images and fonts, and return what :data:`_MEASURE_JS` finds:
    overflowing elements, Python errors, local links (with their resolved URLs), element ids and
    broken images."""
    browser.get(page.resolve().as_uri())
    browser.execute_async_script(_SETTLE_JS)
    return browser.execute_script(_MEASURE_JS)


class _Ids(html.parser.HTMLParser):
    """The ``id`` (and ``<a name>``) values of an HTML file, for links into pages not opened."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        """Collect ``id`` and, on ``<a>``, ``name``."""
        a = dict(attrs)
        self.ids.update(v for k, v in a.items() if v and (k == "id" or (k == "name" and tag == "a")))


def _file_ids(path: Path, known: dict[Path, set[str]]) -> set[str]:
    if path not in known:
        parser = _Ids()
        parser.feed(path.read_text(errors="replace"))
        known[path] = parser.ids
    return known[path]


def link_problems(page: str, links: list[dict], ids: dict[Path, set[str]]) -> list[Problem]:
    """The broken local links among ``links`` (``{href, url, text}`` from a page named ``page``):
    a target file that does not exist, or a ``#fragment`` that no element of the target page
    defines (``ids``: the ids of the pages opened so far, filled in from the files for others)."""
    out, seen = [], set()
    for link in links:
        u = urlparse(link["url"])
        target, frag = Path(unquote(u.path)).resolve(), unquote(u.fragment)
        if (link["href"], str(target)) in seen:
            continue
        seen.add((link["href"], str(target)))
        name = f'link "{link["text"] or link["href"]}" (href {link["href"]})'
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            out.append(Problem(page, name, f"target {target.name} does not exist"))
        elif frag not in _FREE_FRAGMENTS and target.suffix == ".html" \
                and frag not in _file_ids(target, ids):
            out.append(Problem(page, name, f"no element with id {frag!r} in {target.name}"))
    return out


def _page_problems(page: str, found: dict) -> list[Problem]:
    probs = [Problem(page, o["el"], o["what"]) for o in found["overflow"]]
    probs += [Problem(page, i["el"], f"image {i['src']} did not load (naturalWidth 0)")
              for i in found["images"]]
    probs += [Problem(page, e["el"], e["what"]) for e in found["errors"]]
    return probs


def check_book(build: str | Path, shots: str | Path | None = None,
               width: int = WIDTH, height: int = HEIGHT) -> Report:
    """Open every page of the book built in ``build`` (see :func:`html_root`) at ``width`` ×
    ``height`` and return the :class:`Report` of its problems; a full-page screenshot of each
    page goes to ``shots`` (default ``<build>/screenshots``) as ``<page>.png``."""
    root = html_root(build)
    pages = book_pages(root)
    shots = Path(shots) if shots else Path(build) / "screenshots"
    report, links, ids = Report(), [], {}
    browser = open_browser(width, height)
    try:
        for page in pages:
            rel = page.relative_to(root).as_posix()
            found = measure_page(browser, page)
            ids[page.resolve()] = set(found["ids"])
            report.pages.append(rel)
            report.problems += _page_problems(rel, found)
            links.append((rel, found["links"]))
            report.screenshots.append(
                screenshot(browser, shots / page.relative_to(root).with_suffix(".png")))
    finally:
        browser.quit()
    for rel, page_links in links:
        report.problems += link_problems(rel, page_links, ids)
    order = {p: i for i, p in enumerate(report.pages)}
    report.problems.sort(key=lambda p: order.get(p.page, 0))
    return report


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str):
        """Print ``message`` as one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _px(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 100 <= value <= 10000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size in px from 100 to 10000")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``replicate book-check`` argument parser."""
    p = _Parser(prog="replicate book-check",
                description="Open every page of the built book in headless Chromium; fail on "
                            "overflowing tables/figures, broken images or links, Python errors.")
    p.add_argument("--build", default="_build",
                   help="the book's build folder, as given to `replicate book --build` (default: _build)")
    p.add_argument("--screenshots", default=None,
                   help="folder for the pages' screenshots (default: <build>/screenshots)")
    p.add_argument("--width", type=_px, default=WIDTH, help=f"viewport width, px (default: {WIDTH})")
    p.add_argument("--height", type=_px, default=HEIGHT, help=f"viewport height, px (default: {HEIGHT})")
    return p


def main(argv: list[str] | None = None) -> int:
    """``replicate book-check``: print one line per problem; 1 if any, 0 if none, 2 on bad input."""
    args = build_parser().parse_args(argv)
    start = time.monotonic()
    try:
        report = check_book(args.build, args.screenshots, args.width, args.height)
    except BookCheckError as e:
        print(f"replicate book-check: error: {e}", file=sys.stderr)
        return 2
    for prob in report.problems:
        print(prob)
    shots = report.screenshots[0].parent if report.screenshots else "-"
    print(f"book-check: {len(report.pages)} pages at {args.width}x{args.height}, "
          f"{len(report.problems)} problems, screenshots in {shots} "
          f"({time.monotonic() - start:.0f} s)", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

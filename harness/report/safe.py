"""The one way HTML that is not escaped gets into the report: inline SVG figures from our plotting code.

The templates are rendered with autoescape on, so every string from a config, a method, a log or a
data file is escaped. Only :func:`trusted_svg` marks markup as safe, and it first checks that the text
is a single SVG document with nothing active in it (no script, no event handlers, no foreignObject,
no javascript: or external links), refusing it otherwise. matplotlib's SVG backend produces none of
those; a title containing a hostile string is escaped by matplotlib as text, which this check allows.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markupsafe import Markup

#: Elements an SVG figure from harness.report.plots may contain (matplotlib's SVG backend output).
_ALLOWED_ELEMENTS = frozenset({
    "svg", "g", "defs", "style", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "clippath", "use", "title", "desc", "metadata", "lineargradient", "radialgradient", "stop", "pattern",
    "mask", "marker", "symbol", "image", "rdf:rdf", "cc:work", "dc:type", "dc:date", "dc:format", "dc:creator",
    "cc:agent", "dc:title",
})
_URL_ATTRIBUTES = frozenset({"href", "xlink:href", "src", "action", "formaction"})
_SAFE_URL = re.compile(r"^(#|data:image/(png|jpeg);base64,)", re.IGNORECASE)
_ACTIVE_CSS = re.compile(r"(url\s*\((?!\s*['\"]?#)|@import|expression\s*\(|javascript:)", re.IGNORECASE)


class UnsafeSvgError(ValueError):
    """The text is not an SVG figure this project's plotting code would produce."""


class _SvgChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.roots = 0
        self.depth = 0
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        self.depth += 1
        self.in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.depth = max(0, self.depth - 1)
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.depth == 0 and data.strip():
            self.problems.append(f"text outside the <svg> element: {data.strip()[:40]!r}")
        if self.in_style and _ACTIVE_CSS.search(data):
            self.problems.append("a <style> with external urls, imports or scripts")

    def handle_pi(self, data: str) -> None:
        if not data.lower().startswith("xml "):
            self.problems.append(f"a processing instruction <?{data[:30]}>")

    def unknown_decl(self, data: str) -> None:
        if not data.upper().startswith("CDATA["):
            self.problems.append(f"a declaration <!{data[:30]}>")

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.roots += 1
            if tag != "svg":
                self.problems.append(f"a top-level <{tag}> element (expected one <svg>)")
        if tag not in _ALLOWED_ELEMENTS:
            self.problems.append(f"a <{tag}> element")
        for name, value in attrs:
            text = (value or "").strip()
            if name.startswith("on"):
                self.problems.append(f"an event handler attribute {name}= on <{tag}>")
            elif name in _URL_ATTRIBUTES and not _SAFE_URL.match(text):
                self.problems.append(f"a link {name}={text[:40]!r} on <{tag}> (only #fragments and inline images)")
            elif name == "style" and _ACTIVE_CSS.search(text):
                self.problems.append(f"a style attribute with external urls or scripts on <{tag}>")
            elif "javascript:" in re.sub(r"\s", "", text).lower():
                self.problems.append(f"a javascript: url in {name}= on <{tag}>")


def svg_problems(svg: str) -> list[str]:
    """Everything in ``svg`` that is not a plain figure (empty when it is safe to inline)."""
    body = re.sub(r"^\s*(<\?xml[^>]*\?>)?\s*(<!DOCTYPE[^>]*>)?", "", svg, flags=re.IGNORECASE)
    checker = _SvgChecker()
    checker.feed(body)
    checker.close()
    problems = list(dict.fromkeys(checker.problems))
    if checker.roots != 1 and not any("top-level" in p for p in problems):
        problems.append(f"{checker.roots} top-level elements (expected one <svg>)")
    return problems


def trusted_svg(svg: str) -> Markup:
    """``svg`` marked safe for the template, after checking it is a plain figure; refuses anything else."""
    problems = svg_problems(svg)
    if problems:
        raise UnsafeSvgError("refusing to inline an SVG figure in the report: " + "; ".join(problems))
    return Markup(svg)

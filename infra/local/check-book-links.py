#!/usr/bin/env python3
"""Check the links of the built book (and of the front page README.md), offline.

Usage: python3 check-book-links.py BOOK_DIR REPO_ROOT     (e.g. docs/book .)

Every page under BOOK_DIR (mdBook's output, print.html and toc.html included) is read, and every `href` and `src`:
- a relative link must reach a file: inside BOOK_DIR, or, for a link that leaves the book (a chapter pointing at
  `../../../infra/iam/...`), inside REPO_ROOT, taking the book to be REPO_ROOT/docs/book (or where it really is, when
  BOOK_DIR lies inside REPO_ROOT);
- its `#fragment` must be an `id` (or an `<a name>`) of the page it reaches; a fragment on a repository file is
  checked only for Markdown files, against their headings' ids;
- an `http(s)://` link is listed, never fetched; `http://` fails unless its host is `example.invalid` (or under it).
The front page, REPO_ROOT/README.md, is read as Markdown: each relative link (to `docs/src/...` chapters, repository
files) must reach a file or folder, and a fragment on a Markdown file must be one of its headings' ids.

Prints one line per broken link, `page: href: why`, then a summary; exits 1 if anything is broken, else 0.
Python 3.11 standard library only.
"""
import os
import posixpath
import re
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"href", "src"}
SKIPPED_SCHEMES = ("mailto:", "javascript:", "data:", "tel:", "blob:")


class Page(HTMLParser):
    """The ids, links and <base> of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.base = set(), [], None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in LINK_ATTRS:
                if tag == "base" and name == "href":
                    self.base = value
                else:
                    self.links.append(value.strip())

    handle_startendtag = handle_starttag


def markdown_ids(path):
    """Heading ids of a Markdown file, as mdBook (and, near enough, GitHub) makes them."""
    ids, used, fence = set(), {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
                continue
            m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            text = re.sub(r"`([^`]*)`", r"\1", m.group(1))
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
            hid = "".join(c if (c.isalnum() or c in "_-") else "-" if c.isspace() else "" for c in text.strip().lower())
            n = used.get(hid, 0)
            used[hid] = n + 1
            ids.add(hid if n == 0 else f"{hid}-{n}")
    return ids


class Checker:
    def __init__(self, book, repo):
        self.book = os.path.abspath(book)
        self.repo = os.path.abspath(repo)
        inside = os.path.commonpath([self.book, self.repo]) == self.repo
        # Where the book sits in the repository, for links that leave it.
        self.book_in_repo = os.path.relpath(self.book, self.repo) if inside else "docs/book"
        self.pages = {}  # book-relative path -> Page
        self.broken, self.external = [], {}
        self.count = {"in-book": 0, "repository": 0, "external": 0, "skipped": 0, "readme": 0}
        self.md_ids = {}

    def load(self):
        for root, _, files in os.walk(self.book):
            for name in files:
                if name.endswith(".html"):
                    path = os.path.join(root, name)
                    page = Page()
                    with open(path, encoding="utf-8") as f:
                        page.feed(f.read())
                    self.pages[os.path.relpath(path, self.book).replace(os.sep, "/")] = page

    def fail(self, page, href, why):
        self.broken.append(f"{page}: {href}: {why}")

    def external_link(self, page, href):
        self.count["external"] += 1
        self.external.setdefault(href, set()).add(page)
        parts = urlsplit(href)
        host = (parts.hostname or "").lower()
        if parts.scheme == "http" and host != "example.invalid" and not host.endswith(".example.invalid"):
            self.fail(page, href, "plain http: use https")

    def ids_of_repo_file(self, path):
        if path not in self.md_ids:
            self.md_ids[path] = markdown_ids(path)
        return self.md_ids[path]

    def check_page(self, rel, page):
        here = posixpath.dirname(rel)
        base = page.base
        if base is not None:
            # mdBook's 404.html: <base href="/"> (site-url), i.e. the book's root where it is served.
            bparts = urlsplit(base)
            if bparts.scheme or bparts.netloc:
                self.count["skipped"] += len(page.links)
                return
            here = bparts.path.lstrip("/").rstrip("/") if bparts.path.startswith("/") else posixpath.join(here, bparts.path)
        for href in page.links:
            low = href.lower()
            if not href:
                self.fail(rel, href, "empty link")
            elif low.startswith(("http://", "https://")):
                self.external_link(rel, href)
            elif href.startswith("//"):
                self.external_link(rel, href)
                self.fail(rel, href, "protocol-relative link: use https://")
            elif low.startswith(SKIPPED_SCHEMES):
                self.count["skipped"] += 1
            elif re.match(r"^[a-z][a-z0-9+.-]*:", low):
                self.fail(rel, href, "unknown scheme")
            elif href.startswith("/") and base is None:
                self.fail(rel, href, "absolute path: the book must work from any folder")
            else:
                self.check_relative(rel, here, href)

    def check_relative(self, rel, here, href):
        parts = urlsplit(href)
        path, frag = unquote(parts.path), unquote(parts.fragment)
        if not path:  # "#id" or "?q": this page
            self.count["in-book"] += 1
            if frag and frag not in self.pages[rel].ids:
                self.fail(rel, href, f"no id '{frag}' in this page")
            return
        # Resolve as if the book sat at REPO/<book_in_repo>.
        virtual = posixpath.normpath(posixpath.join(self.book_in_repo, here, path))
        book_prefix = posixpath.normpath(self.book_in_repo)
        if virtual == book_prefix or virtual.startswith(book_prefix + "/"):
            self.count["in-book"] += 1
            target = posixpath.relpath(virtual, book_prefix)
            full = os.path.join(self.book, target)
            if os.path.isdir(full):
                self.fail(rel, href, "a folder, not a page")
            elif not os.path.isfile(full):
                self.fail(rel, href, f"no file {target} in the book")
            elif frag and target in self.pages and frag not in self.pages[target].ids:
                self.fail(rel, href, f"no id '{frag}' in {target}")
            return
        if virtual.startswith("../") or virtual == "..":
            self.fail(rel, href, "leaves the repository")
            return
        self.count["repository"] += 1
        full = os.path.join(self.repo, virtual)
        if not os.path.exists(full):
            why = f"no file {virtual} in the repository"
            if virtual.endswith(".html") and os.path.isfile(os.path.join(self.repo, virtual[:-5] + ".md")):
                why += " (mdBook rewrote a link to a repository .md file into .html)"
            self.fail(rel, href, why)
        elif frag and virtual.endswith(".md") and os.path.isfile(full) and frag not in self.ids_of_repo_file(full):
            self.fail(rel, href, f"no heading '{frag}' in {virtual}")

    def check_readme(self):
        readme = os.path.join(self.repo, "README.md")
        if not os.path.isfile(readme):
            self.fail("README.md", "", f"no README.md in {self.repo}")
            return
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"(?ms)^\s*(```|~~~).*?^\s*\1[^\n]*$", "", text)  # code blocks
        text = re.sub(r"`[^`\n]*`", "", text)  # code spans
        hrefs = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
        hrefs += re.findall(r"(?m)^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", text)
        hrefs += re.findall(r"(?:href|src)=\"([^\"]+)\"", text)
        for href in hrefs:
            low = href.lower()
            if low.startswith(("http://", "https://")):
                self.external_link("README.md", href)
                continue
            if low.startswith(SKIPPED_SCHEMES):
                self.count["skipped"] += 1
                continue
            self.count["readme"] += 1
            parts = urlsplit(href)
            path, frag = unquote(parts.path), unquote(parts.fragment)
            target = os.path.normpath(os.path.join(self.repo, path)) if path else readme
            if path.startswith("/"):
                self.fail("README.md", href, "absolute path")
            elif os.path.commonpath([target, self.repo]) != self.repo:
                self.fail("README.md", href, "leaves the repository")
            elif not os.path.exists(target):
                self.fail("README.md", href, f"no file {os.path.relpath(target, self.repo)}")
            elif frag and target.endswith(".md") and frag not in self.ids_of_repo_file(target):
                self.fail("README.md", href, f"no heading '{frag}' in {os.path.relpath(target, self.repo)}")

    def run(self):
        self.load()
        if not self.pages:
            print(f"no .html page under {self.book}: build the book first", file=sys.stderr)
            return 2
        for rel in sorted(self.pages):
            self.check_page(rel, self.pages[rel])
        self.check_readme()
        for line in self.broken:
            print(line)
        for href in sorted(self.external):
            print(f"external, not fetched: {href} ({len(self.external[href])} page(s))")
        links = sum(len(p.links) for p in self.pages.values())
        print(
            f"{len(self.pages)} pages, {links} links in them, {self.count['readme']} relative links in README.md: "
            f"{self.count['in-book']} in the book, {self.count['repository']} to repository files, "
            f"{self.count['external']} external (listed), {self.count['skipped']} skipped; "
            f"{len(self.broken)} broken"
        )
        return 1 if self.broken else 0


def main(argv):
    if len(argv) != 3 or not os.path.isdir(argv[1]) or not os.path.isdir(argv[2]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return Checker(argv[1], argv[2]).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))

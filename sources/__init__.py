"""Public sources. The registry is explicit; a test checks that every module is registered."""

from __future__ import annotations

from sources.base import Source
from sources.gharchive import Gharchive
from sources.github_events import GithubEvents
from sources.github_gists import GithubGists
from sources.github_search import GithubSearch
from sources.gitlab_snippets import GitlabSnippets
from sources.paste_sites import PasteSites
from sources.pastebin import Pastebin

SOURCES: dict[str, type[Source]] = {
    cls.name: cls for cls in (GithubEvents, Gharchive, GithubGists, GithubSearch, GitlabSnippets, Pastebin, PasteSites)
}

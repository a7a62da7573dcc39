"""In-memory git history for the fake GitHub: commits as tree snapshots, diffs as GitHub shows them.

A commit keeps a full snapshot of its tree (``path → text``) so a compare of any two commits is a
diff of two snapshots. File entries follow the REST "compare two commits" / "get a commit" shape:
``sha``, ``filename``, ``status``, ``additions``, ``deletions``, ``changes``, ``blob_url``,
``raw_url``, ``contents_url`` and a unified-diff ``patch`` without the ``---``/``+++`` header
(left out for binary files, as GitHub does).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sources.fakes.service import sha1_hex

ZERO_SHA = "0" * 40
MAX_PATCH_BYTES = 1024 * 1024


@dataclass
class Repo:
    id: int
    full_name: str
    refs: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


@dataclass
class Commit:
    sha: str
    repo: str
    parent: str | None
    tree: dict[str, str]
    message: str
    date: str
    author: str


def blob_sha(content: str) -> str:
    """Git's blob id: sha1 of ``blob <len>\\0<content>``."""
    import hashlib

    raw = content.encode("utf-8", "surrogateescape")
    return hashlib.sha1(b"blob %d\x00" % len(raw) + raw, usedforsecurity=False).hexdigest()


def unified_patch(old: str, new: str) -> tuple[str, int, int]:
    """GitHub's ``patch``: the hunks of a unified diff (no file header), plus/minus line counts."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3))[2:]
    adds = sum(1 for ln in lines if ln.startswith("+"))
    dels = sum(1 for ln in lines if ln.startswith("-"))
    return "\n".join(lines), adds, dels


def diff_trees(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """``(path, status, old_text, new_text)`` for each changed path, sorted by path."""
    out = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "modified"
        out.append((path, status, before or "", after or ""))
    return out


def file_entry(api: str, web: str, repo: str, sha: str, change: tuple[str, str, str, str]) -> dict[str, Any]:
    path, status, old, new = change
    patch, adds, dels = unified_patch(old, new)
    qpath = quote(path)
    entry: dict[str, Any] = {
        "sha": blob_sha(new) if status != "removed" else ZERO_SHA,
        "filename": path,
        "status": status,
        "additions": adds,
        "deletions": dels,
        "changes": adds + dels,
        "blob_url": f"{web}/{repo}/blob/{sha}/{qpath}",
        "raw_url": f"{web}/{repo}/raw/{sha}/{qpath}",
        "contents_url": f"{api}/repos/{repo}/contents/{qpath}?ref={sha}",
    }
    if "\x00" not in old + new and len(patch) <= MAX_PATCH_BYTES:
        entry["patch"] = patch
    return entry


def user(api: str, web: str, login: str) -> dict[str, Any]:
    uid = int(sha1_hex(login)[:7], 16)
    return {"login": login, "id": uid, "node_id": f"MDQ6VXNlcnt{uid}", "gravatar_id": "",
            "avatar_url": f"{web}/avatars/u/{uid}?v=4", "url": f"{api}/users/{login}",
            "html_url": f"{web}/{login}", "type": "User", "site_admin": False}


def commit_object(api: str, web: str, commit: Commit, files: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A commit as ``GET /repos/{o}/{r}/commits/{ref}`` returns it (``files`` only there)."""
    person = {"name": commit.author, "email": f"{commit.author}@users.noreply.example", "date": commit.date}
    obj: dict[str, Any] = {
        "sha": commit.sha,
        "node_id": "C_" + commit.sha[:20],
        "commit": {"author": person, "committer": person, "message": commit.message,
                   "tree": {"sha": sha1_hex("tree", commit.sha), "url": f"{api}/repos/{commit.repo}/git/trees/x"},
                   "url": f"{api}/repos/{commit.repo}/git/commits/{commit.sha}", "comment_count": 0,
                   "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None}},
        "url": f"{api}/repos/{commit.repo}/commits/{commit.sha}",
        "html_url": f"{web}/{commit.repo}/commit/{commit.sha}",
        "comments_url": f"{api}/repos/{commit.repo}/commits/{commit.sha}/comments",
        "author": user(api, web, commit.author),
        "committer": user(api, web, commit.author),
        "parents": [] if commit.parent is None else [
            {"sha": commit.parent, "url": f"{api}/repos/{commit.repo}/commits/{commit.parent}",
             "html_url": f"{web}/{commit.repo}/commit/{commit.parent}"}],
    }
    if files is not None:
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        obj["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
        obj["files"] = files
    return obj

"""Precision and recall of the built-in pack on the peers' own published test samples.

The positive and negative samples of four peer scanners, at pinned commits:

* gitleaks ``cmd/generate/config/rules/*.go``: the literal strings of ``tps`` (positives; most of
  its positives are generated at run time and are not used) and ``fps`` (negatives);
* trufflehog ``pkg/detectors/*/*_test.go``: the literal ``input`` of each pattern test case,
  positive when its ``want`` lists a result, negative when it is empty;
* kingfisher ``data/rules/*.yml``: ``examples`` (positives) and ``negative_examples``;
* noseyparker ``crates/noseyparker/data/default/builtin/rules/*.yml``: ``examples`` and
  ``negative_examples``.

Each sample is written, with its provenance, into a ``.env``, JSON, YAML or Python file of a corpus
under ``bench/.cache/peer_samples/`` (gitignored; the samples stay the peers' and are not
committed), and the corpus is scanned by ``leakpatrol scan --format json`` as a user would.

A positive sample is **of a covered provider** when its peer file or detector maps to a file of
the built-in pack (``crawler/data/rules/<provider>.toml``) and one of that file's prefixes occurs
in it. Such a sample is **well-formed** unless the scanner discards it offline: its checksum fails
(GitHub's documentation placeholders) or the pack's allowlist holds it (published example keys).
Printed: well-formed covered positives found / total, failing-checksum samples reported (must be
0), negatives reported / total, all positives found / total, and every miss (redacted) to look at.

    python bench/peer_samples.py [--peers DIR]

``--peers DIR`` reads ``DIR/<owner>+<name>/repo`` git directories (e.g. the ``fetch`` mirrors)
instead of cloning the pinned commits into the cache.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crawler.detect.rules import RULES_DIR, load_rules
from crawler.detect.scanner import Scanner

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache" / "peer_samples"
MALFORMED = ROOT / "peer_samples_malformed.toml"
PEERS = {  # name: (repo, pinned commit, licence)
    "gitleaks": ("gitleaks/gitleaks", "b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b", "MIT"),
    "trufflehog": ("trufflesecurity/trufflehog", "3ab759fef4bb5935d4fe9ac68b503d05346b8364", "AGPL-3.0"),
    "kingfisher": ("mongodb/kingfisher", "ee7c0db3ef87575768f817820c24736249ffcdef", "Apache-2.0"),
    "noseyparker": ("praetorian-inc/noseyparker", "2e6e7f36ce36619852532bbe698d8cb7a26d2da7", "Apache-2.0"),
}
# Peer file / detector names that are not "<pack file name>…", and look-alikes that are not ours.
ALIASES = {
    "privatekey": "private-keys", "privkey": "private-keys", "pem": "private-keys", "pkcs8": "private-keys",
    "ssh": "private-keys", "pgp": "private-keys", "mongodb": "databases", "postgres": "databases",
    "postgresql": "databases", "mysql": "databases", "redis": "databases", "uri": "databases",
    "jdbc": "databases", "sendinblue": "brevo", "dockerhub": "docker", "vault": "hashicorp",
    "terraform": "hashicorp", "jira": "atlassian", "confluence": "atlassian", "bitbucket": "atlassian",
    "artifactory": "jfrog", "cratesio": "crates", "fly": "flyio", "teams": "microsoft",
    "microsoftteamswebhook": "microsoft", "gcp": "google", "googlecloud": "google", "new_relic": "newrelic",
    "onepassword": "onepassword", "1password": "onepassword", "sonar": "sonarqube", "sonarcloud": "sonarqube",
}
NOT_OURS = ("squarespace", "squareup", "agora", "linearb", "renderform", "figmapersonal")


@dataclass
class Sample:
    peer: str
    path: str
    provider: str
    text: str
    positive: bool


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def peer_repo(name: str, peers: Path | None) -> Path:
    slug = PEERS[name][0]
    if peers is not None:
        return peers / slug.replace("/", "+") / "repo"
    dest = CACHE / "repos" / name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--filter=blob:none", "--no-checkout", "-q",
                        f"https://github.com/{slug}.git", str(dest)], check=True)
    return dest


def files(repo: Path, commit: str, pattern: str) -> Iterator[tuple[str, str]]:
    for path in _git(repo, "ls-tree", "-r", "--name-only", commit).splitlines():
        if re.fullmatch(pattern, path):
            yield path, _git(repo, "show", f"{commit}:{path}")


GO_STRING = r'"(?:[^"\\\n]|\\.)*"|`[^`]*`'


def _unquote(lit: str) -> str:
    if lit.startswith("`"):
        return lit[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), lit[1:-1])


def go_strings(text: str, *, whole: bool = False) -> list[str]:
    """The Go string literals of ``text``; with ``whole``, only those that are a whole list element
    (not a piece of a ``+`` concatenation, not a call's argument, not a ``fmt`` template)."""
    out = []
    for m in re.finditer(GO_STRING, text):
        value = _unquote(m.group())
        if whole:
            before, after = text[: m.start()].rstrip()[-1:], text[m.end():].lstrip()[:1]
            if before in ("+", "(") or after in ("+", ")") or re.search(r"%[-+#0-9.]*[sdvxq]", value):
                continue
        out.append(value)
    return out


def gitleaks(repo: Path, commit: str) -> Iterator[Sample]:
    for path, text in files(repo, commit, r"cmd/generate/config/rules/[^/]+\.go"):
        provider = Path(path).stem
        for block, positive in ((r"fps\s*:?=\s*(?:append\(fps,|\[\]string\{)(.*?)\n\t[})]", False),
                                (r"tps\s*:?=\s*(?:append\(tps,|\[\]string\{)(.*?)\n\t[})]", True)):
            for body in re.findall(block, text, re.S):
                for s in go_strings(re.sub(r"//[^\n]*", "", body), whole=True):
                    yield Sample("gitleaks", path, provider, s, positive)


def trufflehog(repo: Path, commit: str) -> Iterator[Sample]:
    case = re.compile(r"input:\s*(" + GO_STRING + r")\s*,\s*want:\s*(nil|\[\]string\{(.*?)\})", re.S)
    for path, text in files(repo, commit, r"pkg/detectors/[^/]+/[^/]+_test\.go"):
        if "integration" in path:
            continue
        provider = path.split("/")[2]
        for lit, want, items in case.findall(text):
            value = _unquote(lit)
            yield Sample("trufflehog", path, provider, value, want != "nil" and bool(items.strip()))


def yaml_rules(peer: str, repo: Path, commit: str, pattern: str) -> Iterator[Sample]:
    """A rule's negative examples are negatives for that rule only: one that is (or holds) a positive
    example of a sibling rule of the same file is left out (noseyparker's Slack webhook rule lists
    Slack bot tokens as its negatives)."""
    for path, text in files(repo, commit, pattern):
        try:
            doc: Any = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        rules = (doc or {}).get("rules", [])
        positives = [s for rule in rules for s in rule.get("examples") or [] if isinstance(s, str)]
        for s in positives:
            yield Sample(peer, path, Path(path).stem, s, True)
        for rule in rules:
            for s in rule.get("negative_examples") or []:
                if isinstance(s, str) and not any(p.strip() in s or s.strip() in p for p in positives):
                    yield Sample(peer, path, Path(path).stem, s, False)


def collect(peers: Path | None) -> list[Sample]:
    out: list[Sample] = []
    for name, (_, commit, _) in PEERS.items():
        repo = peer_repo(name, peers)
        if name == "gitleaks":
            out += gitleaks(repo, commit)
        elif name == "trufflehog":
            out += trufflehog(repo, commit)
        else:
            where = r"data/rules/[^/]+\.ya?ml" if name == "kingfisher" else \
                r"crates/noseyparker/data/default/builtin/rules/[^/]+\.ya?ml"
            out += yaml_rules(name, repo, commit, where)
    return out


def malformed(sample: Sample) -> str | None:
    """The reason a hand-reviewed entry of ``MALFORMED`` gives for this sample, if any."""
    for entry in _malformed():
        if sample.path.endswith(entry["path"]) and entry["contains"] in sample.text:
            return str(entry["reason"])
    return None


@functools.cache
def _malformed() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = tomllib.loads(MALFORMED.read_text(encoding="utf-8"))["malformed"]
    return entries


def pack_file(provider: str, ours: list[str]) -> str | None:
    name = re.sub(r"[^a-z0-9]", "", provider.lower())
    if any(name.startswith(n) for n in NOT_OURS):
        return None
    for alias, target in ALIASES.items():
        if name.startswith(re.sub(r"[^a-z0-9]", "", alias)):
            return target
    return next((f for f in sorted(ours, key=len, reverse=True) if name.startswith(f.replace("-", ""))), None)


def write(samples: list[Sample], corpus: Path) -> list[Path]:
    """Each sample in its own file: .env, JSON, YAML or Python, in turn."""
    corpus.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, s in enumerate(samples):
        kind = i % 4
        if kind == 0:
            body, ext = s.text + "\n", "env"
        elif kind == 1:
            body, ext = json.dumps({"sample": s.text}) + "\n", "json"
        elif kind == 2:
            body, ext = "sample: |\n" + "".join(f"  {line}\n" for line in s.text.splitlines() or [""]), "yaml"
        else:
            body, ext = f"SAMPLE = {s.text!r}\n", "py"
        path = corpus / f"{i:05d}.{ext}"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    manifest = [{"file": p.name, "peer": s.peer, "repo": PEERS[s.peer][0], "commit": PEERS[s.peer][1],
                 "licence": PEERS[s.peer][2], "path": s.path, "positive": s.positive}
                for p, s in zip(paths, samples, strict=True)]
    (corpus.parent / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return paths


def scan(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
    # Each file named on the command line: the cache is gitignored, and a directory walk inside a git
    # work tree leaves ignored files out.
    proc = subprocess.run([sys.executable, "-m", "crawler", "scan", "--format", "json", *map(str, paths)],
                          capture_output=True, text=True, check=False, cwd=CACHE)
    if proc.returncode not in (0, 1):
        sys.exit(f"leakpatrol scan failed ({proc.returncode}): {proc.stderr}")
    by_file: dict[str, list[dict[str, Any]]] = {}
    for f in json.loads(proc.stdout)["findings"]:
        by_file.setdefault(Path(f["path"]).name, []).append(f)
    return by_file


def _pack() -> dict[str, list[dict[str, Any]]]:
    return {f.name[:-5]: tomllib.loads(f.read_text(encoding="utf-8")).get("rules", [])
            for f in sorted(RULES_DIR.iterdir(), key=lambda f: f.name) if f.name.endswith(".toml")}


def pack_prefixes() -> dict[str, list[bytes]]:
    """The literal prefixes of each pack file's rules."""
    return {file: [r["prefix"].encode() for r in rules] for file, rules in _pack().items()}


def pack_ids() -> dict[str, list[str]]:
    return {file: [r["id"] for r in rules] for file, rules in _pack().items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--peers", type=Path, help="DIR/<owner>+<name>/repo git directories of the peers")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    args = ap.parse_args()
    samples = collect(args.peers)
    rules = load_rules()
    prefixes = pack_prefixes()
    rule_file = {rid: file for file, ids in pack_ids().items() for rid in ids}
    corpus = CACHE / "corpus"
    for old in corpus.glob("*"):
        old.unlink()
    paths = write(samples, corpus)
    found = scan(paths)
    if not any(found.values()):
        sys.exit("leakpatrol scan found nothing at all in the corpus: something is wrong with the run")
    counts: Counter[str] = Counter()
    misses: list[str] = []
    notes: list[str] = []
    for path, s in zip(paths, samples, strict=True):
        reported = {f["rule"] for f in found.get(path.name, [])}
        target = pack_file(s.provider, list(prefixes))
        if not s.positive:
            # A peer's negative is a negative for that peer's provider: a token of another provider in
            # it (trufflehog's axonaut test holds an ASIA… key id) is rightly reported and not counted.
            wrong = {r for r in reported if rule_file.get(r) == target}
            counts["neg"] += 1
            counts["neg_reported"] += bool(wrong)
            counts["neg_other"] += bool(reported) and not wrong
            if wrong:
                misses.append(f"negative reported  {s.peer:11} {s.path}: {sorted(wrong)}")
            continue
        counts["pos"] += 1
        counts["pos_found"] += bool(reported)
        raw = s.text.encode()
        if target is None or not any(p in raw for p in prefixes[target]):
            continue
        scanner = Scanner([r for r in rules if r.prefix_bytes in prefixes[target]], use_hyperscan=False)
        kept = {m.rule.id for m in scanner.scan(raw)}
        failing, allowed = set(scanner.stats.bad_checksum), set(scanner.stats.allowlisted)
        why = malformed(s)
        if not reported and why:
            counts["malformed"] += 1
            notes.append(f"not well-formed     {s.peer:11} {s.path}: {why}")
        elif not kept and failing:  # its only token of this provider fails its checksum
            counts["bad_checksum"] += 1
            counts["bad_checksum_reported"] += bool(reported & failing)
        elif not kept and allowed:  # a published example or placeholder
            counts["allowlisted"] += 1
            counts["allowlisted_reported"] += bool(reported & allowed)
        else:
            counts["covered"] += 1
            counts["covered_found"] += bool(reported)
            if not reported:
                misses.append(f"positive missed    {s.peer:11} {s.path} ({target})")
    for peer, (slug, commit, licence) in PEERS.items():
        print(f"{peer:11} github.com/{slug}@{commit[:7]} ({licence})")
    print(f"rules: {len(rules)}; samples: {len(samples)} ({counts['pos']} positive, {counts['neg']} negative)")
    print(f"well-formed covered positives found: {counts['covered_found']}/{counts['covered']}")
    print(f"failing-checksum positives reported: {counts['bad_checksum_reported']}/{counts['bad_checksum']}")
    print(f"allowlisted example/placeholder positives reported: "
          f"{counts['allowlisted_reported']}/{counts['allowlisted']}")
    print(f"negatives reported: {counts['neg_reported']}/{counts['neg']} "
          f"({100 * counts['neg_reported'] / max(1, counts['neg']):.1f} %); negatives holding another "
          f"provider's token, reported as that provider: {counts['neg_other']}")
    print(f"positives judged not well-formed ({MALFORMED.name}): {counts['malformed']}")
    print(f"all positives found (covered or not): {counts['pos_found']}/{counts['pos']}")
    for line in misses + notes:
        print("  " + line)
    if args.json:
        where = (f"{len(samples)} published test samples of gitleaks, trufflehog, kingfisher and noseyparker "
                 "(pinned commits), each written into a .env, JSON, YAML or Python file")
        common = {"input": where, "command": "python bench/peer_samples.py"}
        Path(args.json).write_text(json.dumps({"figures": [
            {"figure": "Recall: well-formed positives of covered providers found",
             "value": f"{counts['covered_found']}/{counts['covered']}",
             "measures": "`leakpatrol scan` of the corpus; a positive is covered when a pack file maps to its "
                         "provider and one of its prefixes occurs in it", "n": f"n = {counts['covered']}", **common},
            {"figure": "Failing-checksum positives reported",
             "value": f"{counts['bad_checksum_reported']}/{counts['bad_checksum']}",
             "measures": "tokens whose checksum fails must be discarded offline", "n": f"n = {counts['bad_checksum']}",
             **common},
            {"figure": "Negatives reported (false positives)",
             "value": f"{counts['neg_reported']}/{counts['neg']} "
                      f"({100 * counts['neg_reported'] / max(1, counts['neg']):.1f} %)",
             "measures": "the peers' negative samples reported as their own provider", "n": f"n = {counts['neg']}",
             **common},
        ]}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

"""A threaded HTTP server on 127.0.0.1 for the hub tests: static files with Range (and a cut
connection on demand), and the part of the Hugging Face Hub HTTP API that huggingface_hub's
create_repo / create_commit / list_repo_files use (repos/create, validate-yaml, preupload, commit,
revision, tree) and the file downloads hf_hub_download makes (HEAD/GET resolve)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def send_ranged(handler: BaseHTTPRequestHandler, body: bytes, rng: str | None, cut: int | None = None) -> None:
    """Answer a GET with `body`: 206 from the offset a `Range: bytes=N-` asks for (416 past the
    end), else 200; with `cut`, hang up after that many bytes (a connection lost mid-download)."""
    start = 0
    r = re.fullmatch(r"bytes=(\d+)-", rng or "")
    if r:
        start = int(r.group(1))
        if start >= len(body):
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(body)}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    else:
        handler.send_response(200)
    payload = body[start:]
    handler.send_header("Content-Length", str(len(payload)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(payload if cut is None else payload[:cut])
    handler.wfile.flush()
    handler.close_connection = True


def pixels(folder: Path) -> dict[str, bytes]:
    """Every image of a convert output folder (its hidden run records aside) as raw pixels."""
    import numpy as np
    from PIL import Image

    return {p.name: np.asarray(Image.open(p)).tobytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def write_photos(folder: Path, sizes: tuple[tuple[int, int], ...], seed: int) -> Path:
    """Random RGB photos of the given (height, width)s as folder/0.png, 1.png, ..."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class State:
    files: dict[str, bytes] = field(default_factory=dict)  # static path -> bytes
    drop_once: dict[str, int] = field(default_factory=dict)  # path -> bytes sent, then hang up
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)  # repo id -> {path: bytes} at main
    commits: dict[str, list[str]] = field(default_factory=dict)  # repo id -> commit oids
    private: dict[str, bool] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)  # Authorization headers seen


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    # --- helpers -------------------------------------------------------------------------
    def _json(self, code: int, obj: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, *args: object) -> None:
        pass

    # --- static files with Range -----------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        st = self.server.state
        rng = self.headers.get("Range")
        st.requests.append(("GET", self.path, rng))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/?]+).*", self.path)
        if m:
            return self._revision(m.group(1))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/?]+).*", self.path)
        if m:
            files = st.repos.get(m.group(1))
            if files is None:
                return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if m.group(2) not in ("main", *st.commits.get(m.group(1), [])):
                return self._json(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
            return self._json(200, [{"type": "file", "path": k, "size": len(v), "oid": git_blob_sha(v)}
                                    for k, v in sorted(files.items())])
        body = self._resolved() if "/resolve/" in self.path else st.files.get(self.path)
        if body is None:
            return self._json(404, {"error": "not found"})
        send_ranged(self, body, rng, st.drop_once.pop(self.path, None))

    # --- the Hub API -------------------------------------------------------------------------
    def _resolved(self) -> bytes | None:
        """/OWNER/NAME/resolve/REV/FILE: the file at the newest commit, with the Hub's headers queued."""
        st = self.server.state
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/([^?]+).*", self.path)
        if not m or m.group(1) not in st.repos or m.group(3) not in st.repos[m.group(1)]:
            return None
        self._hub_headers = {"X-Repo-Commit": (st.commits.get(m.group(1)) or ["0" * 40])[-1],
                             "ETag": f'"{git_blob_sha(st.repos[m.group(1)][m.group(3)])}"'}
        return st.repos[m.group(1)][m.group(3)]

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for key, value in getattr(self, "_hub_headers", {}).items():
            self.send_header(key, value)

    def do_HEAD(self) -> None:  # noqa: N802
        self.server.state.requests.append(("HEAD", self.path, None))
        body = self._resolved()
        if body is None:
            return self._json(404, {"error": "Entry not found"})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

    def _revision(self, repo: str) -> None:
        st = self.server.state
        if repo not in st.repos:
            return self._json(404, {"error": "Repository not found"})
        sha = (st.commits.get(repo) or ["0" * 40])[-1]
        self._json(200, {"id": repo, "sha": sha, "private": st.private.get(repo, False),
                         "siblings": [{"rfilename": f} for f in sorted(st.repos[repo])]})

    def do_POST(self) -> None:  # noqa: N802
        st = self.server.state
        st.requests.append(("POST", self.path, None))
        st.tokens.append(self.headers.get("Authorization", ""))
        body = self._body()
        if self.path == "/api/repos/create":
            data = json.loads(body)
            repo = f"{data['organization']}/{data['name']}" if data.get("organization") else data["name"]
            if repo in st.repos:
                return self._json(409, {"error": "You already created this model repo", "url": f"/{repo}"})
            st.repos[repo], st.commits[repo] = {}, []
            st.private[repo] = data.get("visibility") == "private" or bool(data.get("private"))
            return self._json(200, {"url": f"http://{self.headers['Host']}/{repo}", "name": repo})
        if self.path == "/api/validate-yaml":
            return self._json(200, {"errors": [], "warnings": []})
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/?]+).*", self.path)
        if not m or m.group(1) not in st.repos:
            return self._json(404, {"error": "Repository not found"})
        repo, what = m.group(1), m.group(2)
        files = st.repos[repo]
        if what == "preupload":
            asked = json.loads(body)["files"]
            return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                               "oid": git_blob_sha(files[f["path"]]) if f["path"] in files else None}
                                              for f in asked]})
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        for item in lines:
            if item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] in ("deletedFile",):
                files.pop(item["value"]["path"], None)
        oid = hashlib.sha1(json.dumps(sorted((k, git_blob_sha(v)) for k, v in files.items())).encode()
                           + str(len(st.commits[repo])).encode()).hexdigest()
        st.commits[repo].append(oid)
        self._json(200, {"commitUrl": f"http://{self.headers['Host']}/{repo}/commit/{oid}", "commitOid": oid,
                         "pullRequestUrl": None})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


@contextmanager
def serve() -> Iterator[tuple[str, State, Server]]:
    """(base URL, state, server); the server stops when the block ends."""
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", srv.state, srv
    finally:
        srv.shutdown()
        srv.server_close()

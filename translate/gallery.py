"""The run gallery: one static, offline HTML page per run (`runs/NAME/index.html`)."""
from __future__ import annotations

import html

from translate.files import atomic_write
from translate.rundir import RunDir


def write_run_gallery(run: RunDir) -> None:
    summary = run.read_json(run.summary_path)
    images = list(reversed(run.samples()))
    rows = "\n".join(
        f'<figure><img src="samples/{p.name}" alt="{p.stem}"><figcaption>{html.escape(p.stem)}</figcaption></figure>'
        for p in images
    )
    table = ""
    if summary:
        table = "<table>" + "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
        ) + "</table>"
    page = (
        "<!doctype html><meta charset='utf-8'><title>" + html.escape(run.name) + "</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{image-rendering:pixelated;max-width:100%}"
        "figure{margin:0 0 2em}td,th{padding:2px 8px;text-align:left}</style>"
        f"<h1>{html.escape(run.name)}</h1>{table}{rows}"
    )
    atomic_write(run.gallery_path, page)

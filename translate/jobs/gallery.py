"""Static, offline HTML pages a person can read: the run gallery (`runs/NAME/index.html`) and the
converted folder's input | output page (`translate convert --gallery`).

The run page shows what the run is (name, variant, data, date, key config values, links to
config.yaml, metrics.jsonl, provenance.json and the latest checkpoint — all relative to the run
directory), its evaluation figures with one-line explanations, its loss curves (inline SVG from
metrics.jsonl), and every sample grid newest first, scaled up crisply, each row labelled by
what it shows ("real A", "A→B", "A→B→A"...) and captioned "step 1,000 · epoch 19". One file,
no server, no framework; a few lines of script only mark, for tests, that every image loaded.
"""
from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from translate.kit.figures import EVERY_KIND
from translate.kit.figures import explain as explain_figure
from translate.files import atomic_write
from translate.jobs.rundir import RunDir

SCALES = (8, 6, 4, 3, 2, 1)


def explain(key: str, said: dict[str, str] | None = None) -> str:
    """What figure `key` means: as the run (or report) says (`explanations`, written from the
    variant's declared figures), else as the core's figures of every kind explain it (older runs)."""
    if said and key in said:
        return str(said[key])
    return explain_figure(key.split("/")[0], EVERY_KIND)


def _e(value: Any) -> str:
    return html.escape(str(value))


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:26px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin-bottom:12px} a{color:#0b5cad}
table.kv{border-collapse:collapse;font-size:14px} .kv td,.kv th{padding:3px 10px;text-align:left;vertical-align:top}
.kv th{font-weight:600;white-space:nowrap} .kv tr:nth-child(even){background:#f0f0f0} .why{color:#555}
figure{margin:0 0 28px;background:#fff;border:1px solid #e2e2e2;padding:12px;display:inline-block}
figcaption{font-size:14px;color:#333;margin-bottom:6px;font-weight:600}
.grid{display:flex;align-items:flex-start}
.labels{display:flex;flex-direction:column;margin-right:8px;font-size:13px;color:#333;text-align:right}
.labels div{display:flex;align-items:center;justify-content:flex-end;white-space:nowrap}
.cols{display:flex;font-size:11px;color:#777}
.cols div{text-align:center}
img.px{image-rendering:pixelated;image-rendering:crisp-edges;display:block}
.curves{display:flex;flex-wrap:wrap;gap:12px} .curve{background:#fff;border:1px solid #e2e2e2;padding:6px}
.curve svg text{font-size:10px;fill:#555} .pair{display:flex;gap:10px;align-items:flex-start}
.pair img{max-width:540px;height:auto}
"""
SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
});
</script>"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
            f"<title>{_e(title)}</title><style>{STYLE}</style><body><main>{body}</main>{SCRIPT}</body></html>")


def _table(rows: Iterable[tuple[str, Any, str]]) -> str:
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td><td class='why'>{_e(why)}</td></tr>" for k, v, why in rows)
    return f"<table class='kv'>{cells}</table>" if cells else ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return _e(value)


# --- the run gallery -------------------------------------------------------------------------------
KEY_CONFIG = ("generator", "discriminator", "adversarial", "image_size", "batch_size", "lr", "epochs", "decay_epochs",
              "phase", "scale", "lambda_cycle", "lambda_identity", "z_dim", "num_classes", "init_from")


def write_run_gallery(run: RunDir) -> Path:
    """(Re)write RUN/index.html from what is in the run directory now."""
    config, summary = run.read_config(), run.read_json(run.summary_path)
    sessions = run.read_json(run.provenance_path).get("sessions", [])
    parts = [f"<h1>{_e(run.name)}</h1>", _header(run, config, summary, sessions)]
    figures = _figures(run, summary)
    if figures:
        parts.append(f"<h2>Evaluation</h2>{figures}")
    curves = _curves(run.metrics())
    if curves:
        parts.append(f"<h2>Losses</h2><div class='curves'>{curves}</div>")
    samples = [_sample(run, png) for png in reversed(run.samples())]
    parts.append("<h2>Samples (newest first)</h2>" + ("".join(samples) or "<p>no sample grid yet</p>"))
    return atomic_write(run.gallery_path, _page(run.name, "".join(parts)))


def _header(run: RunDir, config: dict[str, Any], summary: dict[str, Any], sessions: list[dict[str, Any]]) -> str:
    model = config.get("model") or {}
    started = sessions[0].get("time", "") if sessions else ""
    latest = run.latest_checkpoint()
    links = [("config.yaml", run.config_path), ("metrics.jsonl", run.metrics_path),
             ("provenance.json", run.provenance_path), ("latest checkpoint", latest)]
    link_html = " · ".join(f"<a href='{_e(Path(os.path.relpath(p, run.path)).as_posix())}'>{_e(label)}</a>"
                           for label, p in links if p is not None and Path(p).exists())
    sub = (f"<div class='sub'><b>{_e(config.get('variant', '?'))}</b> on {_e(config.get('data') or 'the built-in demo data')}"
           f"{' · started ' + _e(started) if started else ''}"
           f"{' · ' + _e(summary['steps']) + ' steps' if 'steps' in summary else ''}</div>")
    rows = [(k, _fmt(model[k]), "") for k in KEY_CONFIG if k in model and model[k] not in ("", None)]
    return sub + f"<div class='sub'>{link_html}</div>" + _table(rows)


RENAMED = {"psnr_identity": "psnr_AtoB_baseline"}  # a figure's name in runs of earlier versions


def _figures(run: RunDir, summary: dict[str, Any]) -> str:
    """Each figure once: `translate eval`'s (in its order), then those only training's end has;
    a figure both have with different values says so. Then what was not computed, and why."""
    report = run.read_json(run.eval_path)
    said = {**(summary.get("explanations") or {}), **(report.get("explanations") or {})}
    trained = {RENAMED.get(k, k): v for k, v in summary.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and explain(k, said)}
    evaluated = {k: v for k, v in report.get("figures", {}).items() if isinstance(v, (int, float))}
    rows = []
    for key, value in evaluated.items():
        why = explain(key.split("/")[0], said)
        if key in trained and abs(float(trained[key]) - float(value)) > 5e-4:
            why += f" (training's end: {_fmt(trained[key])}, on other data or weights)"
        rows.append((key, _fmt(value), why))
    rows += [(k, _fmt(v), explain(k, said)) for k, v in trained.items() if k not in evaluated]
    table = _table(rows)
    skipped = [str(n) for n in report.get("notes", []) if str(n).startswith("no ") or ": no " in str(n)]
    if not report and any(k.startswith("psnr_") and "to" in k for k in trained):
        skipped.append("no FID/KID, SSIM or LPIPS: training's end scores PSNR only; `translate eval` on this run "
                       "adds them (FID/KID need the Inception-v3 weights, LPIPS AlexNet's)")
    if skipped and table:
        table += "<p class='why'>Not computed:</p><ul class='why'>" + "".join(f"<li>{_e(n)}</li>" for n in skipped) + "</ul>"
    return table


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100_000


def _sample(run: RunDir, png: Path) -> str:
    info = run.read_json(png.with_suffix(".json"))
    step = RunDir.step_of(png)
    caption = f"step {step:,}" + (f" · epoch {info['epoch']:,}" if "epoch" in info else "")
    rel = f"samples/{png.name}"
    rows, cols, tile, pad = info.get("rows"), info.get("columns"), info.get("tile"), info.get("padding", 2)
    sane = (isinstance(rows, list) and all(isinstance(r, str) for r in rows) and _count(cols)
            and isinstance(tile, list) and len(tile) == 2 and all(_count(t) for t in tile) and isinstance(pad, int) and _count(pad + 1))
    if not sane:  # a grid from an older run, or labels that are not what we write: no labels  # a grid from an older run: no labels, natural size
        return f"<figure><figcaption>{_e(caption)}</figcaption><img class='px' src='{rel}' alt='{_e(png.stem)}'></figure>"
    width = cols * (tile[1] + pad) + pad
    scale = next((s for s in SCALES if width * s <= 960), 1)
    row_h, col_w = (tile[0] + pad) * scale, (tile[1] + pad) * scale
    labels = "".join(f"<div style='height:{row_h}px'>{_e(r)}</div>" for r in rows)
    head = "".join(f"<div style='width:{col_w}px'>#{i + 1}</div>" for i in range(cols))
    height = len(rows) * (tile[0] + pad) + pad
    img = (f"<img class='px' src='{rel}' width='{width * scale}' height='{height * scale}' "
           f"alt='{_e(png.stem)}: {_e(', '.join(rows))}'>")
    return (f"<figure><figcaption>{_e(caption)} <span class='why'>({scale}× enlarged)</span></figcaption>"
            f"<div class='grid'><div class='labels' style='padding-top:{pad * scale}px;margin-top:14px'>{labels}</div>"
            f"<div><div class='cols' style='padding-left:{pad * scale}px'>{head}</div>{img}</div></div></figure>")


def _curves(records: list[dict[str, Any]], width: int = 260, height: int = 120) -> str:
    series: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        if "step" not in r or r.get("kind") == "eval":
            continue
        for k, v in r.items():
            if k not in ("step", "epoch", "time", "kind") and isinstance(v, (int, float)) and not k.startswith("lr/"):
                series.setdefault(k, []).append((float(r["step"]), float(v)))
    out = []
    for key, points in series.items():
        if len(points) < 2:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        sx = (width - 40) / ((x1 - x0) or 1)
        sy = (height - 30) / ((y1 - y0) or 1)
        line = " ".join(f"{30 + (x - x0) * sx:.1f},{height - 20 - (y - y0) * sy:.1f}" for x, y in points)
        out.append(
            f"<div class='curve'><svg width='{width}' height='{height}' role='img' aria-label='{_e(key)}'>"
            f"<text x='30' y='12' style='font-weight:600;fill:#222'>{_e(key)}</text>"
            f"<polyline fill='none' stroke='#0b5cad' stroke-width='1.5' points='{line}'/>"
            f"<text x='2' y='{height - 20}'>{y0:.3g}</text><text x='2' y='24'>{y1:.3g}</text>"
            f"<text x='30' y='{height - 4}'>step {x0:,.0f}</text><text x='{width - 70}' y='{height - 4}'>{x1:,.0f}</text>"
            "</svg></div>")
    return "".join(out)


# --- convert --gallery ---------------------------------------------------------------------------------
def write_convert_gallery(pairs: list[tuple[Path, Path]], out_dir: Path, title: str, limit: int = 24,
                          src_root: Path | None = None) -> Path:
    """OUT/index.html: input | output, side by side, for the first `limit` converted files, each
    captioned with its path under the input folder `src_root` and under OUT (subfolders kept)."""
    out_dir = Path(out_dir)
    root = Path(src_root) if src_root is not None and Path(src_root).is_dir() else None
    figs = []
    for src, dst in pairs[:limit]:
        a = Path(os.path.relpath(src, out_dir)).as_posix()
        b = Path(os.path.relpath(dst, out_dir)).as_posix()
        name_in = Path(os.path.relpath(src, root)).as_posix() if root is not None else Path(src).name
        inside = Path(dst).resolve().is_relative_to(out_dir.resolve())
        name_out = Path(os.path.relpath(dst, out_dir)).as_posix() if inside else Path(dst).name
        figs.append(f"<figure><figcaption>{_e(name_in)} → {_e(name_out)}</figcaption><div class='pair'>"
                    f"<img src='{_e(a)}' alt='input {_e(name_in)}'><img src='{_e(b)}' alt='output {_e(name_out)}'>"
                    "</div></figure>")
    more = f"<p>{len(pairs) - limit} more not shown.</p>" if len(pairs) > limit else ""
    body = (f"<h1>{_e(title)}</h1><div class='sub'>input | output, the first {min(limit, len(pairs))} of {len(pairs)}"
            f"</div>{''.join(figs)}{more}")
    return atomic_write(out_dir / "index.html", _page(title, body))

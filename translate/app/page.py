"""The demo page (Gradio Blocks) around a `Session`: photos in, the translation beside them.

Left: one photo (drop, paste, webcam) or several at once, the direction, the back end, the tile
size, example photos. Right: input | output under a comparison slider, every result in a strip,
downloads (each result, or all as a zip), one status line. Below: what the model is.
`/translate` is the API endpoint: one image in, the translated image out.

Handlers take the raw upload payloads (`preprocess=False`) so that every file, hostile or not,
is read by convert's own decoder and any problem becomes one line on the page.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from translate.app.examples import write_examples
from translate.app.facts import arrow
from translate.app.session import Result, Session
from translate.errors import TranslateError
from translate.files import first_line

CSS = """
#status p{margin:4px 0;font-size:15px} #status.failed p{color:#b3261e;font-weight:600}
#facts table.facts{border-collapse:collapse;font-size:13px;width:100%;border:none !important}
#facts table.facts tr,#facts table.facts tbody{border:none !important}
#facts table.facts th,#facts table.facts td{padding:3px 8px;text-align:left;vertical-align:top;border:none !important}
table.facts th{white-space:nowrap;font-weight:600} table.facts tr:nth-child(even){background:rgba(127,127,127,.08)}
table.facts td.why{color:#777}
"""


def facts_html(session: Session) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td><td class='why'>{escape(why)}</td></tr>"
                   for k, v, why in session.facts())
    return f"<table class='facts'>{rows}</table>"


def build(session: Session) -> gr.Blocks:
    """The page; `queue`/`launch` are the server's (translate.app.server)."""
    first = session.directions[0]
    t = session.base.pick(first)
    examples = write_examples(session, session.workdir / "examples")
    title = f"translate · {Path(session.model.rstrip('/')).name or session.model}"
    with gr.Blocks(title=title, analytics_enabled=False) as page:
        gr.Markdown(f"## {title}\n" + _subtitle(session))
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                with gr.Tabs():
                    with gr.Tab("One photo"):
                        photo = gr.Image(label="Drop, paste or take a photo with the webcam", type="filepath",
                                         sources=["upload", "clipboard", "webcam"], height=280, elem_id="photo")
                    with gr.Tab("Several photos"):
                        many = gr.File(label="Drop or upload several photos", file_count="multiple", height=280,
                                       elem_id="many")
                shelf = gr.Gallery([(str(p), arrow(d)) for p, d in examples], label="Example photos, held out from "
                                   "training: pick one", columns=6, height=150, allow_preview=False, object_fit="cover",
                                   visible=bool(examples), elem_id="examples", interactive=False)
                with gr.Row():
                    direction = gr.Radio([(arrow(d), d) for d in session.directions], value=first, label="Direction",
                                         visible=len(session.directions) > 1, elem_id="direction")
                    backend = gr.Radio(session.backends(), value=session.backends()[0], label="Back end",
                                       elem_id="backend", info=_backend_info(session))
                with gr.Accordion("Big photos", open=False):
                    tile = gr.Slider(max(64, 2 * t.size_multiple), 4096, value=t.default_tile(), step=t.size_multiple,
                                     label="Tile size (px)", elem_id="tile",
                                     info="photos larger than this per side go through overlapping, blended tiles")
                go = gr.Button("Translate", variant="primary", elem_id="go")
            with gr.Column(scale=6):
                slider = gr.ImageSlider(label="Input | output (drag to compare)", type="filepath", height=420,
                                        interactive=False, elem_id="slider")
                status = gr.Markdown("", elem_id="status")
                strip = gr.Gallery(label="All results (pick one to compare)", columns=6, height=160, visible=False,
                                   elem_id="strip", allow_preview=False, interactive=False)
                downloads = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="downloads")
                with gr.Accordion("About this model", open=True):
                    facts = gr.HTML(facts_html(session), elem_id="facts")
        pairs = gr.State([])

        def on_translate(photo: Any, photos: Any, direction: str, backend: str, tile: Any) -> tuple[Any, ...]:
            files = [p for p in [_path(photo, session), *(_path(f, session) for f in (photos or []))] if p is not None]
            try:
                result = (session.translate(files, direction or first, backend, int(tile or 0) or None) if files
                          else Result())
            except TranslateError as err:
                return None, gr.update(visible=False), None, _status(first_line(err), True), [], facts_html(session)
            except Exception as err:  # anything else: say it on the page, keep serving
                return (None, gr.update(visible=False), None, _status(f"could not translate: {first_line(err)}", True),
                        [], facts_html(session))
            shown = [(str(a), str(b)) for a, b in result.pairs]
            files_out = [str(p) for p in result.outputs] + ([str(result.archive)] if result.archive else [])
            strip_value = gr.update(value=[b for _, b in shown], visible=len(shown) > 1)
            return (shown[0] if shown else None, strip_value, files_out or None,
                    _status(result.message(), bool(result.failed)), shown, facts_html(session))

        page_io = dict(fn=on_translate, inputs=[photo, many, direction, backend, tile],
                       outputs=[slider, strip, downloads, status, pairs, facts], preprocess=False, concurrency_id="translate")
        go.click(**page_io, api_name="translate_page")

        def on_example(evt: gr.SelectData) -> tuple[Any, Any]:  # the photo and its direction, then translate it
            path, dir_ = examples[evt.index]
            return str(path), dir_

        shelf.select(on_example, None, [photo, direction], api_visibility="private").then(**page_io, api_visibility="private")

        def on_pick(shown: list[tuple[str, str]], evt: gr.SelectData) -> Any:
            return tuple(shown[evt.index]) if shown and 0 <= evt.index < len(shown) else None

        strip.select(on_pick, pairs, slider, api_visibility="private")

        def on_backend(back: str) -> Any:  # int8 exports exist per direction
            choices = session.directions_with(back)
            return gr.update(choices=[(arrow(d), d) for d in choices], value=choices[0] if choices else None)

        backend.change(on_backend, backend, direction, api_visibility="private")

        timer = gr.Timer(10)  # a training run: show (and serve) its newest checkpoint as it lands
        timer.tick(lambda: (session.refresh(), facts_html(session))[1], None, facts, queue=False,
                   api_visibility="private")

        # The API: one image in, the translated image out (direction, back end and tile optional).
        api_image = gr.File(visible=False)
        api_direction = gr.Textbox(first, visible=False)
        api_backend = gr.Textbox(session.backends()[0], visible=False)
        api_tile = gr.Number(0, visible=False, precision=0)
        api_out = gr.Image(type="filepath", visible=False)

        def on_api(image: Any, direction: str, backend: str, tile: Any) -> str:  # names: the API's keywords
            path = _path(image, session)
            if path is None:
                raise gr.Error("no image given", print_exception=False)
            try:
                result = session.translate([path], direction or first, backend or session.backends()[0],
                                           int(tile or 0) or None)
            except TranslateError as err:
                raise gr.Error(first_line(err), print_exception=False) from None
            if not result.pairs:
                raise gr.Error(result.message(), print_exception=False)
            return str(result.outputs[0])

        gr.Button(visible=False).click(on_api, [api_image, api_direction, api_backend, api_tile], api_out, preprocess=False,
                                       api_name="translate", concurrency_id="translate")
    return page


def _subtitle(session: Session) -> str:
    dirs = " / ".join(arrow(d) for d in session.directions)
    spec = session.base.spec
    variant = spec.variant if spec is not None else ""
    return (f"{variant + ' · ' if variant else ''}{dirs} · full resolution, the same pixels as "
            f"`translate convert` · API: `/translate`")


def _backend_info(session: Session) -> str | None:
    if session.onnx_only or all(("onnx", d) in session.exports for d in session.directions):
        return None
    return "onnx: exported on first use"


def _status(text: str, failed: bool) -> Any:
    return gr.update(value=text.replace("\n", "  \n"), elem_classes=["failed"] if failed else [])


def _path(payload: Any, session: Session) -> Path | None:
    """The uploaded file's path, only if it lies in the server's temp folder (Gradio checks too)."""
    path = payload.get("path") if isinstance(payload, dict) else (payload if isinstance(payload, str) else None)
    if not path:
        return None
    resolved = Path(path).resolve()
    return resolved if resolved.is_relative_to(session.workdir.resolve()) else None

"""The browser demo (`translate demo MODEL`, Gradio): a second face beside the CLI, built on
translate.inference only — `session` (the model served), `page` (the Gradio page), `server`."""

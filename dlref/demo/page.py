"""The draw-a-digit page: a canvas, the 28×28 input the networks see, each network's ten probabilities side by side
(Figure 1.5), the chosen network's layers (Figure 1.6), and a Clear button.

Each stroke's PNG goes straight to the handler, not through Gradio's queue, and the pictures come back inside that
one answer as ``data:`` URLs in ``gr.HTML`` (``gr.Image`` would have the browser fetch each afterwards); docs/demo.md
has the measurements. Nothing comes from another host: Gradio serves its own scripts and fonts, its telemetry off.
"""

import base64
import binascii
import io
import tempfile
import time

import gradio as gr
import numpy as np
from PIL import Image

from dlref.demo import canvas as paper
from dlref.demo.models import Answer, Network, answer_for

CSS = """
#seen img, #layers img { image-rendering: pixelated; width: 100%; }  /* each unit a sharp square */
#seen, #clear { max-width: 280px; margin: auto; }
#layers .maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
#layers figure { margin: 0; } #layers figcaption { font-size: var(--text-sm); }
"""
# Figure 1.6's captioned pictures in a grid; Handlebars' {{…}} escapes the captions.
FIGURES = ('<div class="maps">{{#each value}}<figure><img src="{{this.[0]}}" alt="{{this.[1]}}"><figcaption>'
           '{{this.[1]}}</figcaption></figure>{{/each}}</div>')
TITLE = "dlref: draw a digit"
INTRO = ("## Draw a digit\nDraw one digit, 0 to 9, as large as the box. After each stroke the drawing is brought to "
         "MNIST's form (28×28, as `dlref predict` does) and every trained network gives its ten probabilities "
         "(the deck's Figure 1.5). Below, Figure 1.6: what each layer of the chosen network makes of it.")


def answer_for_png(networks: dict[str, Network], data_url: str | None, chosen: str | None) -> Answer:
    """``answer_for`` the canvas's PNG data URL, read from a file as ``dlref predict`` reads one; empty when blank."""
    head, _, data = (data_url or "").partition(",")
    if head != "data:image/png;base64":
        return Answer()
    try:
        png = base64.b64decode(data, validate=True)
    except binascii.Error:
        return Answer()
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(png)
        file.flush()
        return answer_for(networks, file.name, chosen)


def png(picture: np.ndarray) -> str:
    """An ``(h, w, 3)`` uint8 picture as a PNG ``data:`` URL."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def build(networks: dict[str, Network], chosen: str | None = None) -> gr.Blocks:
    """The page (not started)."""
    names = list(networks)
    chosen = chosen if chosen in networks else ("cnn" if "cnn" in networks else names[0])
    with gr.Blocks(title=TITLE, analytics_enabled=False) as page:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=2):
                canvas = gr.HTML("", html_template=paper.HTML, css_template=paper.CSS, js_on_load=paper.JS,
                                 elem_id="canvas")
                clear = gr.Button("Clear", elem_id="clear", variant="secondary", size="sm")
            with gr.Column(scale=1):
                gr.Markdown("**What the networks see**: 28×28, brought to MNIST's form")
                seen = gr.HTML("", elem_id="seen")
        with gr.Row():
            scores = []
            for name in names:
                with gr.Column():
                    scores.append(gr.Label(num_top_classes=10, label=f"{name}: probabilities",
                                           elem_id=f"probabilities-{name}"))
                    gr.Markdown(f"`{networks[name].shown_path}`  \n{networks[name].score}", elem_id=f"about-{name}")
        network = gr.Radio(names, value=chosen, label="Figure 1.6 for", elem_id="network")
        gr.Markdown("**What each layer makes of the digit** (each map scaled to its own range; the class scores "
                    "are the probabilities above)")
        layers = gr.HTML([], html_template=FIGURES, elem_id="layers")

        def show(answer: Answer) -> list:
            seen_html = "" if answer.seen is None else f'<img src="{png(answer.seen)}" alt="the 28×28 input">'
            return [seen_html, *[answer.probabilities.get(name) for name in names],
                    [(png(picture), caption) for picture, caption in answer.layers]]

        outputs = [seen, *scores, layers]
        fast = dict(queue=False, show_progress="hidden", trigger_mode="always_last")
        gr.on([canvas.input, network.change], lambda drawing, name: show(answer_for_png(networks, drawing, name)),
              [canvas, network], outputs, **fast)
        clear.click(lambda: show(Answer()), None, outputs, js=paper.CLEAR, **fast)
    return page


def serve(page: gr.Blocks, host: str, port: int) -> None:
    """Start the page on ``host:port`` and block until Ctrl-C; no share link, no telemetry, no API page."""
    page.launch(server_name=host, server_port=port, share=False, quiet=True, show_error=True, footer_links=[],
                ssr_mode=False, pwa=False, mcp_server=False, enable_monitoring=False, css=CSS,
                prevent_thread_lock=True)
    print(f"dlref demo: {page.local_url} (Ctrl-C stops it)", flush=True)
    try:
        while True:  # not page.block_thread(), which prints a banner of its own on Ctrl-C
            time.sleep(1)
    finally:
        page.close(verbose=False)

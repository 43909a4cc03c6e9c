"""The draw-a-digit page, in Gradio: a canvas, the 28×28 input the networks see, each network's ten probabilities
side by side (Figure 1.5), the chosen network's layers (Figure 1.6), and a Clear button.

Every stroke sends the canvas to ``dlref.demo.models.answer_for`` (straight to the handler, not through Gradio's
queue: one learner, answers within milliseconds). Nothing on the page comes from another host: Gradio's own
scripts and its default theme's fonts are served by this server, and its telemetry is off.
"""

import numpy as np

from dlref.demo.models import Answer, Network, answer_for

CANVAS = 280  # pixels: ten times MNIST's side
BRUSH = 14  # radius in canvas pixels: strokes about as thick, relative to the digit, as MNIST's pen
CSS = "#seen img, #layers img { image-rendering: pixelated; }"  # MNIST's pixels as sharp squares
TITLE = "dlref: draw a digit"
INTRO = ("## Draw a digit\nDraw one digit, 0 to 9, as large as the box. After each stroke the drawing is brought to "
         "MNIST's form (28×28, as `dlref predict` does) and every trained network gives its ten probabilities "
         "(the deck's Figure 1.5). Below, Figure 1.6: what each layer of the chosen network makes of it.")


def blank() -> np.ndarray:
    """White paper: the canvas's background (drawn in black, as on paper)."""
    return np.full((CANVAS, CANVAS, 3), 255, dtype=np.uint8)


def build(networks: dict[str, Network], chosen: str | None = None):
    """The page as a ``gradio.Blocks`` (not started)."""
    import gradio as gr

    names = list(networks)
    chosen = chosen if chosen in networks else ("cnn" if "cnn" in networks else names[0])
    with gr.Blocks(title=TITLE, analytics_enabled=False) as page:
        gr.Markdown(INTRO)
        with gr.Row():
            canvas = gr.Sketchpad(
                value=blank(), type="filepath", image_mode="RGB", canvas_size=(CANVAS, CANVAS), sources=(),
                transforms=(), layers=False, brush=gr.Brush(colors=["#000000"], default_color="#000000",
                                                            color_mode="fixed", default_size=BRUSH),
                label="Draw here", elem_id="canvas", scale=2)
            seen = gr.Image(label="What the networks see: 28×28, normalised", interactive=False, elem_id="seen",
                            format="png", height=CANVAS + 40, buttons=[], scale=1)
        clear = gr.Button("Clear", elem_id="clear", variant="secondary")
        with gr.Row():
            scores = [gr.Label(num_top_classes=10, label=f"{name}: probabilities", elem_id=f"probabilities-{name}")
                      for name in names]
        network = gr.Radio(names, value=chosen, label="Figure 1.6 for", elem_id="network")
        layers = gr.Gallery(label="What each layer makes of the digit (each map scaled to its own range)",
                            elem_id="layers", columns=4, height="auto", object_fit="contain", format="png",
                            buttons=[], allow_preview=False)

        def show(answer: Answer) -> list:
            return [answer.seen, *[answer.probabilities.get(name) for name in names],
                    [(picture, caption) for picture, caption in answer.layers]]

        def on_stroke(drawing: dict | None, network_name: str) -> list:
            composite = (drawing or {}).get("composite")
            return show(answer_for(networks, composite, network_name) if composite else Answer())

        def on_clear() -> list:
            return [blank(), *show(Answer())]

        outputs = [seen, *scores, layers]
        fast = dict(queue=False, show_progress="hidden", trigger_mode="always_last")
        canvas.input(on_stroke, [canvas, network], outputs, **fast)
        network.change(on_stroke, [canvas, network], outputs, **fast)
        clear.click(on_clear, None, [canvas, *outputs], **fast)
        canvas.clear(lambda: show(Answer()), None, outputs, **fast)
    return page


def serve(page, host: str, port: int) -> None:
    """Start the page on ``host:port`` and block until Ctrl-C; no share link, no telemetry, no API page."""
    page.launch(server_name=host, server_port=port, share=False, quiet=True, show_error=True, footer_links=[],
                ssr_mode=False, pwa=False, mcp_server=False, enable_monitoring=False, css=CSS,
                prevent_thread_lock=True)
    print(f"dlref demo: {page.local_url} (Ctrl-C stops it)", flush=True)
    page.block_thread()

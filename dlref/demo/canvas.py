"""The drawing canvas: a plain 2-D ``<canvas>`` in Gradio's own ``gr.HTML`` custom component (its documented
``html_template``, ``js_on_load``, ``props.value`` and ``trigger``), black ink on white paper. It sends one PNG per
stroke, as a data URL, the moment the pen lifts: ``gr.Sketchpad``, a WebGL image editor that uploads several PNGs
per stroke, took 1.2–1.5 s to answer one (measured in the browser test; docs/demo.md).
"""

SIDE = 280  # canvas pixels: ten times MNIST's side
PEN = 28  # line width in canvas pixels: about MNIST's stroke, relative to the digit's 20-pixel box

HTML = f'<canvas width="{SIDE}" height="{SIDE}" aria-label="Draw a digit here"></canvas>'
CSS = f"""
canvas {{ width: {SIDE}px; height: {SIDE}px; background: white; border: 1px solid var(--border-color-primary);
         border-radius: var(--radius-lg); touch-action: none; cursor: crosshair; display: block; margin: auto; }}
"""
# element, props and trigger are what Gradio hands js_on_load. "dlref-clear" is sent by the page's Clear button.
JS = f"""
const canvas = element.querySelector('canvas');
const pen = canvas.getContext('2d');
const blank = () => {{ pen.fillStyle = 'white'; pen.fillRect(0, 0, canvas.width, canvas.height); }};
blank();
pen.strokeStyle = 'black'; pen.lineWidth = {PEN}; pen.lineCap = 'round'; pen.lineJoin = 'round';
let last = null;
const at = (e) => {{ const r = canvas.getBoundingClientRect();  // CSS pixels → canvas pixels
                     return [(e.clientX - r.left) * canvas.width / r.width,
                             (e.clientY - r.top) * canvas.height / r.height]; }};
const line = (a, b) => {{ pen.beginPath(); pen.moveTo(a[0], a[1]); pen.lineTo(b[0], b[1]); pen.stroke(); }};
canvas.addEventListener('pointerdown', (e) => {{
  canvas.setPointerCapture(e.pointerId); last = at(e); line(last, last); }});
canvas.addEventListener('pointermove', (e) => {{ if (last) {{ const p = at(e); line(last, p); last = p; }} }});
const lift = () => {{ if (!last) return; last = null; props.value = canvas.toDataURL('image/png'); trigger('input'); }};
canvas.addEventListener('pointerup', lift);
canvas.addEventListener('pointercancel', lift);
canvas.addEventListener('dlref-clear', () => {{ last = null; blank(); props.value = ''; }});
"""
CLEAR = "() => { document.querySelector('#canvas canvas').dispatchEvent(new Event('dlref-clear')); }"

"""The draw-a-digit page (``dlref demo``, the optional ``demo`` extra): the deck's Figures 1.5 and 1.6, live for a
digit drawn in the browser. ``models`` finds the trained networks and computes what the page shows (torch only);
``page`` is the Gradio page, the only file that imports gradio; ``cli`` is the command. Importing ``dlref.demo``
imports none of them.
"""

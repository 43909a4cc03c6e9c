"""The draw-a-digit page (``dlref demo``, the optional ``demo`` extra): draw a digit in the browser, see the
28×28 input the networks get, the ten probabilities of each trained network (the deck's Figure 1.5) and what
each layer of one of them makes of it (Figure 1.6).

``models`` finds the trained networks and computes what the page shows (torch only); ``page`` is the Gradio page,
the only file that imports gradio; ``cli`` is the command. Importing ``dlref.demo`` imports none of them.
"""

"""Solutions of the lessons' "your turn" cells: try each exercise first, then compare.

One module per lesson; each function has the name and signature of its "your turn" cell, so a
learner can paste it there. ``tests/test_lesson_checkers.py`` checks that each passes its checker.
"""

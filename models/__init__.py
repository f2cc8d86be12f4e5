"""PlatePatrol's models: the code that trains, exports and evaluates them, their weights and model cards.

Inference code never imports this package's training code; it only loads the exported files.
"""

"""Training: labelled-data loaders and the recipe that builds a shipped model directory.

May import every stage below it (text, embed, classify, io); nothing imports it but the CLI and scripts.
"""

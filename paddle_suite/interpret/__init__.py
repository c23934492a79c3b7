"""Explaining predictions: saliency maps (see saliency.py) and their overlays."""

"""Explaining predictions: saliency maps (see visual/saliency.py) and their overlays."""

"""Separator (U-Net) and critic (WGAN) models, and the factory that builds them from a ModelSpec (Models/config.py)."""

"""Separator (U-Net) and critic (WGAN) models, and the factory that builds them from model_config."""

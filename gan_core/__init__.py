"""GAN Studio's engine: data, models, losses, training, latent tools and rendering.

Importing this package is cheap: submodules are imported where they are used.
"""

__version__ = "0.1.0"

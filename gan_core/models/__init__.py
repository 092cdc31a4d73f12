"""Networks: the DCGAN family (G, D, conditional variants) and their layers."""

from gan_core.models.dcgan import Discriminator, Generator, build_aux_discriminator, build_models, init_weights

__all__ = ["Generator", "Discriminator", "build_models", "build_aux_discriminator", "init_weights"]

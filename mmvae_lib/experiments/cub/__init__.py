"""The CUB image–caption experiment of the MMVAE paper (§4.3, Figure 7, Table 4): real CUB-200-2011 images
(as ResNet-101 features) with Reed et al.'s captions, or an offline stand-in of synthetic birds; the
sentence and feature networks; the CCA correlation of eq. (4); notebooks 07 and 08."""

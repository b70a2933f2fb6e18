"""MHD, the Multimodal Handwritten Digits of Vasco et al. (2022): image, sound and pen trajectory of a digit."""

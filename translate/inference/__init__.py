"""Inference without the training code: translators from every weights source, the torch and
onnxruntime back ends, tiling, image I/O, folder conversion, export and sampling."""

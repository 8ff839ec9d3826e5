"""Pretrained models: the model catalog, names and hf:// resolved to local files, push to the
Hugging Face Hub, model cards; and the one downloader the datasets catalog shares."""

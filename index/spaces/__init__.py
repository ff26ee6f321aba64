"""Embedding spaces: named vector spaces with encoders (text, image, audio)."""

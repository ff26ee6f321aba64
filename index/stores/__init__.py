"""Vector stores behind one interface: FAISS (embedded default) and Qdrant (scale-out)."""

"""Yüksel, Alvarez Lucendo & Flammarion (2026): incremental learning of sparse attention patterns."""

"""Word tokenizers for Japanese, Chinese and English behind one protocol."""

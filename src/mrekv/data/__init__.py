"""MRE data: examples, the MMM format, the dataset catalog, real corpora, few-shot splits."""

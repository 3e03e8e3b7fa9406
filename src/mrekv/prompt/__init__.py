"""Prompt templates and the prompt-tuned masked-LM classifier."""

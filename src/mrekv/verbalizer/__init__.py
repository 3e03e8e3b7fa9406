"""Label words, their mining and file formats, and the verbalizers that use them."""

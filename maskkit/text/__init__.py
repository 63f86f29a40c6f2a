"""Text utilities that masking, augmentation and selection share (a low package: it imports none of
them): synonym sources, sentence splitting, stop words and negations."""

"""The plate reader: our fine-tuned easyocr recognizer (`plate_reader.*`) and its card, shipped as package data."""

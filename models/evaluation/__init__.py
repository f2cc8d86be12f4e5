"""Measuring models on labelled folders: `platepatrol models eval --detector | --reader`."""

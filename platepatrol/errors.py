"""The one error type commands turn into a clear, one-line message and a non-zero exit."""


class UserError(Exception):
    """Bad input from a person (config, path, argument): the message says what is wrong."""

"""Devices: the patrol cars' identities and the tokens they authenticate with."""

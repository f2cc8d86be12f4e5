"""People: accounts with roles, their sign-in sessions, password resets, and what each role may do."""

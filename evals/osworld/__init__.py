"""OSWorld's own task files on a local desktop, scored by OSWorld's own code (desktop-env)."""

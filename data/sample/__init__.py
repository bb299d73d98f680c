"""The demo territory: a deterministic generator of three fictitious communes' file shares."""

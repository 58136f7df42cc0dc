"""Producer side: every change to a published model writes its event in the same transaction."""

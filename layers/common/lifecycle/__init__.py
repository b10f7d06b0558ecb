"""Domain of the inactive-membership campaign: who is inactive, the notice lifecycle,
cancellation, retention and purge. Handlers in ``functions/`` are thin shells over it."""
